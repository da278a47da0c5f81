//! Points of a short Weierstrass curve in projective coordinates `(X:Y:Z)` and constant-time
//! scalar multiplication.
//!
//! Addition uses the complete formulas of Renes, Costello and Batina, "Complete addition
//! formulas for prime order elliptic curves" (EUROCRYPT 2016, eprint 2015/1060, §3.1, general
//! `a`): one formula for every pair of inputs, doubling and the neutral element `(0:1:0)`
//! included, so no branch depends on the points. They also hold on TC26-256-A, whose cofactor
//! is 4, for all points of odd order (every point we ever add is a multiple of `G` or of a
//! validated public key in the subgroup of order `q`).
//!
//! Scalars are consumed in 4-bit windows. Table entries are chosen by scanning the whole table
//! with `subtle` conditional selection, so the memory access pattern does not depend on the
//! scalar. The fixed base `G` uses a per-window table of 7-bit signed digits (`128^i · j · G`
//! for `j` up to 64, affine), so `k·G` costs only mixed additions; other points use a 16-entry
//! table and four doublings per window.

use crypto_bigint::{Uint, Word};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use super::curves::CurveSpec;
use super::field::Field;

/// A field element of curve `C`.
pub(crate) type Fe<const L: usize, C> = <C as CurveSpec<L>>::Fe;

/// Window width in bits of a variable-base multiplication.
const WINDOW: usize = 4;
/// Entries per window table.
const ENTRIES: usize = 1 << WINDOW;
/// Window width in bits of the fixed-base multiplication, whose digits are signed: wider
/// windows mean fewer additions and longer constant-time scans (docs/decisions.md).
const BASE_WINDOW: usize = 7;
/// Entries per row of the fixed-base table: the multiples `1..=2^(w−1)`; a negative digit
/// takes its magnitude's entry negated.
const BASE_ENTRIES: usize = 1 << (BASE_WINDOW - 1);
// A signed digit, up to ±2^(w−1), is kept in one byte.
const _: () = assert!(BASE_WINDOW <= 7);

/// A point in projective coordinates; `Z = 0` is the neutral element.
pub(crate) struct Point<const L: usize, C: CurveSpec<L>> {
    x: Fe<L, C>,
    y: Fe<L, C>,
    z: Fe<L, C>,
}

impl<const L: usize, C: CurveSpec<L>> Clone for Point<L, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<const L: usize, C: CurveSpec<L>> Copy for Point<L, C> {}

impl<const L: usize, C: CurveSpec<L>> ConditionallySelectable for Point<L, C> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self {
            x: Fe::<L, C>::conditional_select(&a.x, &b.x, choice),
            y: Fe::<L, C>::conditional_select(&a.y, &b.y, choice),
            z: Fe::<L, C>::conditional_select(&a.z, &b.z, choice),
        }
    }
}

impl<const L: usize, C: CurveSpec<L>> Point<L, C> {
    /// The neutral element `(0:1:0)`.
    pub(crate) fn identity() -> Self {
        Self { x: Fe::<L, C>::ZERO, y: Fe::<L, C>::ONE, z: Fe::<L, C>::ZERO }
    }

    /// The point `(x:y:1)`; the caller checks that it is on the curve.
    pub(crate) fn from_affine(x: Fe<L, C>, y: Fe<L, C>) -> Self {
        Self { x, y, z: Fe::<L, C>::ONE }
    }

    /// Whether `(x, y)` satisfies `y² = x³ + a·x + b`.
    pub(crate) fn is_on_curve(x: &Fe<L, C>, y: &Fe<L, C>) -> bool {
        let b = Fe::<L, C>::new(&C::B);
        let rhs = x.square().mul(x).add(&C::A_M.mul(x)).add(&b);
        bool::from(y.square().ct_eq(&rhs))
    }

    /// Affine `(x, y)` of a public point, or `None` for the neutral element. The inversion
    /// runs in variable time.
    pub(crate) fn affine(&self) -> Option<(Uint<L>, Uint<L>)> {
        self.affine_with(C::invert_p_vartime(&self.z))
    }

    /// Affine `(x, y)` of a point whose projective form may leak secrets (`k·G`): `Z` is
    /// multiplied by the secret random `blind` before the variable-time inversion, so the
    /// inverted value is uniformly random and independent of `Z`.
    pub(crate) fn affine_blinded(&self, blind: &Uint<L>) -> Option<(Uint<L>, Uint<L>)> {
        let beta = Fe::<L, C>::new(blind);
        self.affine_with(C::invert_p_vartime(&self.z.mul(&beta)).mul(&beta))
    }

    fn affine_with(&self, z_inv: Fe<L, C>) -> Option<(Uint<L>, Uint<L>)> {
        let is_identity = self.z.ct_eq(&Fe::<L, C>::ZERO);
        let affine = (self.x.mul(&z_inv).retrieve(), self.y.mul(&z_inv).retrieve());
        (!bool::from(is_identity)).then_some(affine)
    }

    /// `self + other` for any two points (RCB 2016, equation (1) with `b3 = 3·b`).
    pub(crate) fn add(&self, other: &Self) -> Self {
        let t0 = self.x.mul(&other.x);
        let t1 = self.y.mul(&other.y);
        let t2 = self.z.mul(&other.z);
        // X1·Y2 + X2·Y1, X1·Z2 + X2·Z1, Y1·Z2 + Y2·Z1 by Karatsuba-style products.
        let xy = self.x.add(&self.y).mul(&other.x.add(&other.y)).sub(&t0).sub(&t1);
        let xz = self.x.add(&self.z).mul(&other.x.add(&other.z)).sub(&t0).sub(&t2);
        let yz = self.y.add(&self.z).mul(&other.y.add(&other.z)).sub(&t1).sub(&t2);
        Self::sum(&Products { t0, t1, t2, xy, xz, yz })
    }

    /// `self + (x2, y2)` for an affine point, which is never the neutral element: the same
    /// formula with `Z2 = 1`, one product fewer (the mixed addition of RCB 2016, §3.2).
    fn add_affine(&self, x2: &Fe<L, C>, y2: &Fe<L, C>) -> Self {
        let t0 = self.x.mul(x2);
        let t1 = self.y.mul(y2);
        let xy = self.x.add(&self.y).mul(&x2.add(y2)).sub(&t0).sub(&t1);
        let xz = x2.mul(&self.z).add(&self.x);
        let yz = y2.mul(&self.z).add(&self.y);
        Self::sum(&Products { t0, t1, t2: self.z, xy, xz, yz })
    }

    /// The rest of the RCB addition, from the products of the two points.
    fn sum(p: &Products<L, C>) -> Self {
        let b3 = C::B3_M;
        let a_t2 = mul_a::<L, C>(&p.t2);
        let m = mul_a::<L, C>(&p.xz).add(&b3.mul(&p.t2));
        let (u, v) = (p.t1.sub(&m), p.t1.add(&m));
        let w = mul_a::<L, C>(&p.t0).add(&b3.mul(&p.xz)).sub(&mul_a::<L, C>(&a_t2));
        let t = p.t0.add(&p.t0).add(&p.t0).add(&a_t2);
        Self {
            x: p.xy.mul(&u).sub(&p.yz.mul(&w)),
            y: v.mul(&u).add(&t.mul(&w)),
            z: p.yz.mul(&v).add(&p.xy.mul(&t)),
        }
    }

    /// `2·self`.
    pub(crate) fn double(&self) -> Self {
        self.add(self)
    }

    /// `−self`.
    #[cfg(test)]
    pub(crate) fn neg(&self) -> Self {
        Self { x: self.x, y: self.y.neg(), z: self.z }
    }

    /// `k·self` in constant time: four doublings and one table addition per window.
    pub(crate) fn mul(&self, k: &Uint<L>) -> Self {
        let table: [Self; ENTRIES] = multiples(self);
        let mut acc = Self::identity();
        for window in (0..windows::<L>(WINDOW)).rev() {
            for _ in 0..WINDOW {
                acc = acc.double();
            }
            acc = acc.add(&lookup(&table, digit(k, window, WINDOW)));
        }
        acc
    }

    /// `k·G` in constant time from the curve's fixed-base table: `k` in signed digits, one
    /// mixed addition per digit of the entry of its magnitude, negated for a negative digit,
    /// the sum kept or not by a constant-time choice when the digit is zero.
    pub(crate) fn mul_base(k: &Uint<L>) -> Self {
        let table = C::base_table();
        let digits = signed_digits(k, BASE_WINDOW, table.rows.len());
        let mut acc = Self::identity();
        for (row, &digit) in table.rows.iter().zip(digits.iter()) {
            // The sign and magnitude of `digit` without a branch.
            let sign = (digit >> 7) & 1;
            let magnitude = (digit ^ (0u8.wrapping_sub(sign))).wrapping_add(sign);
            let (x, y) = lookup_affine::<L, C, BASE_ENTRIES>(row, magnitude);
            let y = Fe::<L, C>::conditional_select(&y, &y.neg(), Choice::from(sign));
            let sum = acc.add_affine(&x, &y);
            acc = Self::conditional_select(&sum, &acc, magnitude.ct_eq(&0));
        }
        acc
    }
}

/// The products an addition starts from (see [`Point::add`]).
struct Products<const L: usize, C: CurveSpec<L>> {
    t0: Fe<L, C>,
    t1: Fe<L, C>,
    t2: Fe<L, C>,
    xy: Fe<L, C>,
    xz: Fe<L, C>,
    yz: Fe<L, C>,
}

/// `a·x`; for `a = −3` three additions and a negation replace the product. The choice
/// depends only on the curve, never on data.
fn mul_a<const L: usize, C: CurveSpec<L>>(x: &Fe<L, C>) -> Fe<L, C> {
    match C::A_IS_MINUS_3 {
        true => x.add(x).add(x).neg(),
        false => C::A_M.mul(x),
    }
}

/// `2^(w·i) · j · G` for every window `i` and magnitude `j` in `1..=2^(w−1)` (`w` =
/// `BASE_WINDOW`), affine.
pub(crate) struct BaseTable<const L: usize, C: CurveSpec<L>> {
    rows: Vec<[(Fe<L, C>, Fe<L, C>); BASE_ENTRIES]>,
}

impl<const L: usize, C: CurveSpec<L>> BaseTable<L, C> {
    /// Builds the table (public data: a few thousand additions and one inversion a row,
    /// once per process).
    pub(crate) fn new() -> Self {
        let mut base = C::generator();
        // One more window than the bits need: the signed digits carry into it.
        let rows = (0..windows::<L>(BASE_WINDOW) + 1)
            .map(|_| {
                let row: [Point<L, C>; BASE_ENTRIES + 1] = multiples(&base);
                // 2^w · base is twice the last entry, 2^(w−1) · base.
                base = row[BASE_ENTRIES].double();
                let affine = affine_row(&row);
                std::array::from_fn(|j| affine[j + 1])
            })
            .collect();
        Self { rows }
    }
}

/// `k` in `rows` signed digits of `width` bits, least significant first: each in
/// `[−2^(w−1), 2^(w−1)]`, as two's complement bytes, with `k = Σ dᵢ·2^(w·i)`. Computed in
/// constant time (the digits of a nonce are secret).
fn signed_digits<const L: usize>(k: &Uint<L>, width: usize, rows: usize) -> Zeroizing<Vec<u8>> {
    let half = 1i16 << (width - 1);
    let mut carry = 0i16;
    let mut digits = Zeroizing::new(vec![0u8; rows]);
    for (window, out) in digits.iter_mut().enumerate() {
        let t = i16::from(digit(k, window, width)) + carry;
        // 1 when t > 2^(w−1): the digit becomes t − 2^w and 1 carries into the next window.
        carry = ((half - t) >> 15) & 1;
        let signed = t - (carry << width);
        *out = signed.to_le_bytes()[0];
    }
    digits
}

/// The affine forms of `row`'s points but the first (the neutral element, left as a
/// placeholder), with one inversion for the row (Montgomery's trick). Public data: the
/// inversion may take variable time.
fn affine_row<const L: usize, C: CurveSpec<L>, const N: usize>(
    row: &[Point<L, C>; N],
) -> [(Fe<L, C>, Fe<L, C>); N] {
    let mut out = [(Fe::<L, C>::ZERO, Fe::<L, C>::ZERO); N];
    // prefix[i] = z_1 · … · z_i
    let mut prefix = [Fe::<L, C>::ONE; N];
    for i in 1..N {
        prefix[i] = if i == 1 { row[1].z } else { prefix[i - 1].mul(&row[i].z) };
    }
    let mut inverse = C::invert_p_vartime(&prefix[N - 1]);
    for i in (1..N).rev() {
        let z_inv = if i == 1 { inverse } else { inverse.mul(&prefix[i - 1]) };
        inverse = inverse.mul(&row[i].z);
        out[i] = (row[i].x.mul(&z_inv), row[i].y.mul(&z_inv));
    }
    out
}

/// `[0·P, 1·P, …, (N−1)·P]`.
fn multiples<const L: usize, C: CurveSpec<L>, const N: usize>(
    point: &Point<L, C>,
) -> [Point<L, C>; N] {
    let mut table = [Point::identity(); N];
    let mut acc = Point::identity();
    for entry in table.iter_mut() {
        *entry = acc;
        acc = acc.add(point);
    }
    table
}

/// The entry `digit` of `table`, read by touching every entry.
fn lookup<const L: usize, C: CurveSpec<L>, const N: usize>(
    table: &[Point<L, C>; N],
    digit: u8,
) -> Point<L, C> {
    let mut out = Point::identity();
    for (j, entry) in (0u8..).zip(table.iter()) {
        out.conditional_assign(entry, j.ct_eq(&digit));
    }
    out
}

/// The affine entry of magnitude `digit` of `row` (`(0, 0)` for 0), read by touching every
/// entry.
fn lookup_affine<const L: usize, C: CurveSpec<L>, const N: usize>(
    row: &[(Fe<L, C>, Fe<L, C>); N],
    digit: u8,
) -> (Fe<L, C>, Fe<L, C>) {
    let (mut x, mut y) = (Fe::<L, C>::ZERO, Fe::<L, C>::ZERO);
    // Entry `j − 1` holds the multiple `j`; magnitude 0 selects nothing.
    for (j, (ex, ey)) in (1u8..).zip(row.iter()) {
        let choice = j.ct_eq(&digit);
        x.conditional_assign(ex, choice);
        y.conditional_assign(ey, choice);
    }
    (x, y)
}

/// Number of `width`-bit windows in an `L`-limb scalar (the last may be short).
const fn windows<const L: usize>(width: usize) -> usize {
    (Uint::<L>::BITS as usize).div_ceil(width)
}

/// The `width`-bit digit number `window` of `k`, counted from the least significant end; a
/// digit may span two words.
fn digit<const L: usize>(k: &Uint<L>, window: usize, width: usize) -> u8 {
    let bit = window * width;
    let word_bits = Word::BITS as usize;
    let words = k.as_words();
    let low = words.get(bit / word_bits).copied().unwrap_or(0) >> (bit % word_bits);
    let high = match bit % word_bits {
        0 => 0,
        shift => words.get(bit / word_bits + 1).copied().unwrap_or(0) << (word_bits - shift),
    };
    // The mask keeps at most eight bits, so the cast cannot truncate.
    ((low | high) & ((1 << width) - 1)) as u8
}

#[cfg(test)]
mod tests {
    use crypto_bigint::{U1024, U512};

    use super::{signed_digits, windows};

    /// `Σ dᵢ·2^(w·i)` of signed digits, in 1024 bits (wrapping, so a negative total shows).
    fn value(digits: &[u8], width: usize) -> U1024 {
        digits.iter().enumerate().fold(U1024::ZERO, |acc, (i, &d)| {
            let magnitude =
                U1024::from_u8((d as i8).unsigned_abs()).shl_vartime((width * i) as u32);
            match (d as i8) < 0 {
                true => acc.wrapping_sub(&magnitude),
                false => acc.wrapping_add(&magnitude),
            }
        })
    }

    #[test]
    fn signed_digits_add_up_to_the_scalar_and_stay_in_range() {
        let mut rng = crate::crypto::test_rng::Xorshift::new(0x5DEE_CE66_D1CE_4E5B);
        let mut scalars = vec![U512::ZERO, U512::ONE, U512::MAX, U512::MAX.shr_vartime(1)];
        for _ in 0..300 {
            let words: [u64; 8] = std::array::from_fn(|_| rng.next_u64());
            scalars.push(U512::from_words(words));
        }
        for width in [4, 5, 6, 7] {
            let rows = windows::<{ U512::LIMBS }>(width) + 1;
            let half = 1i16 << (width - 1);
            for k in &scalars {
                let digits = signed_digits(k, width, rows);
                assert!(digits.iter().all(|&d| i16::from(d as i8).abs() <= half), "range");
                let expected: U1024 = k.resize();
                assert_eq!(value(&digits, width), expected, "{k} in {width}-bit digits");
            }
        }
    }
}
