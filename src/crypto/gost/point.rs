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
//! scalar. The fixed base `G` uses a per-window table (`16^i · j · G`), so `k·G` costs only
//! additions; other points use a 16-entry table and four doublings per window.

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{Uint, Word};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::curves::CurveSpec;

/// A field element of curve `C`.
pub(crate) type Fe<const L: usize, C> = ConstMontyForm<<C as CurveSpec<L>>::P, L>;

/// Window width in bits.
const WINDOW: usize = 4;
/// Entries per window table.
const ENTRIES: usize = 1 << WINDOW;

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
        let b3 = C::B3_M;
        let t0 = self.x.mul(&other.x);
        let t1 = self.y.mul(&other.y);
        let t2 = self.z.mul(&other.z);
        // X1·Y2 + X2·Y1, X1·Z2 + X2·Z1, Y1·Z2 + Y2·Z1 by Karatsuba-style products.
        let xy = self.x.add(&self.y).mul(&other.x.add(&other.y)).sub(&t0).sub(&t1);
        let xz = self.x.add(&self.z).mul(&other.x.add(&other.z)).sub(&t0).sub(&t2);
        let yz = self.y.add(&self.z).mul(&other.y.add(&other.z)).sub(&t1).sub(&t2);
        let a_t2 = mul_a::<L, C>(&t2);
        let m = mul_a::<L, C>(&xz).add(&b3.mul(&t2));
        let (u, v) = (t1.sub(&m), t1.add(&m));
        let w = mul_a::<L, C>(&t0).add(&b3.mul(&xz)).sub(&mul_a::<L, C>(&a_t2));
        let t = t0.add(&t0).add(&t0).add(&a_t2);
        Self {
            x: xy.mul(&u).sub(&yz.mul(&w)),
            y: v.mul(&u).add(&t.mul(&w)),
            z: yz.mul(&v).add(&xy.mul(&t)),
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
        let table = multiples(self);
        let mut acc = Self::identity();
        for window in (0..windows::<L>()).rev() {
            for _ in 0..WINDOW {
                acc = acc.double();
            }
            acc = acc.add(&lookup(&table, digit(k, window)));
        }
        acc
    }

    /// `k·G` in constant time from the curve's fixed-base table.
    pub(crate) fn mul_base(k: &Uint<L>) -> Self {
        let table = C::base_table();
        let mut acc = Self::identity();
        for (window, row) in table.rows.iter().enumerate() {
            acc = acc.add(&lookup(row, digit(k, window)));
        }
        acc
    }
}

/// `a·x`; for `a = −3` three additions and a negation replace the product. The choice
/// depends only on the curve, never on data.
fn mul_a<const L: usize, C: CurveSpec<L>>(x: &Fe<L, C>) -> Fe<L, C> {
    match C::A_IS_MINUS_3 {
        true => x.add(x).add(x).neg(),
        false => C::A_M.mul(x),
    }
}

/// `16^i · j · G` for every window `i` and digit `j`.
pub(crate) struct BaseTable<const L: usize, C: CurveSpec<L>> {
    rows: Vec<[Point<L, C>; ENTRIES]>,
}

impl<const L: usize, C: CurveSpec<L>> BaseTable<L, C> {
    /// Builds the table (public data: a few thousand additions, once per process).
    pub(crate) fn new() -> Self {
        let mut base = C::generator();
        let rows = (0..windows::<L>())
            .map(|_| {
                let row = multiples(&base);
                base = row[ENTRIES - 1].add(&base);
                row
            })
            .collect();
        Self { rows }
    }
}

/// `[0·P, 1·P, …, 15·P]`.
fn multiples<const L: usize, C: CurveSpec<L>>(point: &Point<L, C>) -> [Point<L, C>; ENTRIES] {
    let mut table = [Point::identity(); ENTRIES];
    let mut acc = Point::identity();
    for entry in table.iter_mut() {
        *entry = acc;
        acc = acc.add(point);
    }
    table
}

/// The entry `digit` of `table`, read by touching every entry.
fn lookup<const L: usize, C: CurveSpec<L>>(
    table: &[Point<L, C>; ENTRIES],
    digit: u8,
) -> Point<L, C> {
    let mut out = Point::identity();
    for (j, entry) in (0u8..).zip(table.iter()) {
        out.conditional_assign(entry, j.ct_eq(&digit));
    }
    out
}

/// Number of 4-bit windows in an `L`-limb scalar.
const fn windows<const L: usize>() -> usize {
    Uint::<L>::BITS as usize / WINDOW
}

/// The 4-bit digit number `window` of `k`, counted from the least significant end.
fn digit<const L: usize>(k: &Uint<L>, window: usize) -> u8 {
    let bit = window * WINDOW;
    let word_bits = Word::BITS as usize;
    let word = k.as_words().get(bit / word_bits).copied().unwrap_or(0);
    // The mask keeps four bits, so the cast cannot truncate.
    ((word >> (bit % word_bits)) & 0xF) as u8
}
