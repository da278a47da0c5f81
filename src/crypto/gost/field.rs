//! The arithmetic of a curve's coordinates, behind one trait ([`Field`]) so the point formulas
//! are written once. Two kinds of field:
//!
//! * [`Special`]: a prime `p = 2^n − c` with a one-word `c`, as every curve the NCA uses has
//!   (TC26-512-A: `2^512 − 569`; TC26-256-A and CryptoPro-A: `2^256 − 617`). A product is
//!   reduced by folding its high half times `c` onto its low half (Menezes, van Oorschot and
//!   Vanstone, *Handbook of Applied Cryptography*, algorithm 14.47, as `crypto-bigint`'s
//!   `mul_mod_special`), a few word products instead of a Montgomery reduction's `n²/64²`;
//!   values are kept fully reduced (`< p`) by one constant-time conditional subtraction.
//! * `crypto-bigint`'s `ConstMontyForm`: any odd prime, in Montgomery form (the test curves of
//!   GOST R 34.10-2012 Appendix A).
//!
//! Every operation runs in constant time; only [`Special::inv_vartime`] does not, and it is
//! used on public or blinded values only, as the Montgomery form's.

use crypto_bigint::modular::{ConstMontyForm, ConstMontyParams};
use crypto_bigint::{Inverter, Limb, Odd, PrecomputeInverter, Uint, Word};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, CtOption};

/// Elements of a prime field.
pub(crate) trait Field<const L: usize>:
    Copy + ConditionallySelectable + ConstantTimeEq + Send + Sync + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The element `x mod p`.
    fn new(x: &Uint<L>) -> Self;
    /// The element as an integer in `[0, p)`.
    fn retrieve(&self) -> Uint<L>;
    /// `self · rhs`.
    fn mul(&self, rhs: &Self) -> Self;
    /// `self²`.
    fn square(&self) -> Self;
    /// `self + rhs`.
    fn add(&self, rhs: &Self) -> Self;
    /// `self − rhs`.
    fn sub(&self, rhs: &Self) -> Self;
    /// `−self`.
    fn neg(&self) -> Self;
}

impl<P, const L: usize> Field<L> for ConstMontyForm<P, L>
where
    P: ConstMontyParams<L> + Copy + Send + Sync + 'static,
{
    const ZERO: Self = ConstMontyForm::ZERO;
    const ONE: Self = ConstMontyForm::ONE;

    fn new(x: &Uint<L>) -> Self {
        ConstMontyForm::new(x)
    }

    fn retrieve(&self) -> Uint<L> {
        ConstMontyForm::retrieve(self)
    }

    fn mul(&self, rhs: &Self) -> Self {
        ConstMontyForm::mul(self, rhs)
    }

    fn square(&self) -> Self {
        ConstMontyForm::square(self)
    }

    fn add(&self, rhs: &Self) -> Self {
        ConstMontyForm::add(self, rhs)
    }

    fn sub(&self, rhs: &Self) -> Self {
        ConstMontyForm::sub(self, rhs)
    }

    fn neg(&self) -> Self {
        ConstMontyForm::neg(self)
    }
}

/// An element of the field of `p = 2^(64·L) − C` (64-bit words), kept in `[0, p)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Special<const L: usize, const C: Word>(Uint<L>);

impl<const L: usize, const C: Word> Special<L, C> {
    /// `p`.
    pub(crate) const MODULUS: Uint<L> = Uint::ZERO.wrapping_sub(&Uint::from_word(C));

    /// `x mod p`, usable in constants (as `ConstMontyForm::new`).
    pub(crate) const fn new(x: &Uint<L>) -> Self {
        Self(canonical::<L, C>(x))
    }

    /// `self⁻¹` (safegcd), in variable time; `None` for 0. Only for public or blinded values.
    pub(crate) fn inv_vartime(&self) -> CtOption<Self>
    where
        Odd<Uint<L>>: PrecomputeInverter<Output = Uint<L>>,
    {
        let modulus = Odd::new(Self::MODULUS).expect("p = 2^n − c with c odd is odd");
        modulus.precompute_inverter().invert_vartime(&self.0).map(Self)
    }
}

/// `x` less `p` if `x ≥ p` (any `x < 2^n < 2p`), in constant time.
const fn canonical<const L: usize, const C: Word>(x: &Uint<L>) -> Uint<L> {
    let (less, borrow) = x.sbb(&Special::<L, C>::MODULUS, Limb::ZERO);
    // `borrow` is all ones when `x < p`: then `p` is added back.
    less.wrapping_add(&Special::<L, C>::MODULUS.bitand_limb(borrow))
}

impl<const L: usize, const C: Word> Field<L> for Special<L, C> {
    const ZERO: Self = Self(Uint::ZERO);
    const ONE: Self = Self(Uint::ONE);

    fn new(x: &Uint<L>) -> Self {
        Special::new(x)
    }

    fn retrieve(&self) -> Uint<L> {
        self.0
    }

    fn mul(&self, rhs: &Self) -> Self {
        // `mul_mod_special` leaves a result below 2^n, not always below p.
        Self(canonical::<L, C>(&self.0.mul_mod_special(&rhs.0, Limb(C))))
    }

    fn square(&self) -> Self {
        self.mul(self)
    }

    fn add(&self, rhs: &Self) -> Self {
        Self(self.0.add_mod_special(&rhs.0, Limb(C)))
    }

    fn sub(&self, rhs: &Self) -> Self {
        Self(self.0.sub_mod_special(&rhs.0, Limb(C)))
    }

    fn neg(&self) -> Self {
        Self(self.0.neg_mod_special(Limb(C)))
    }
}

impl<const L: usize, const C: Word> ConditionallySelectable for Special<L, C> {
    fn conditional_select(a: &Self, b: &Self, choice: Choice) -> Self {
        Self(Uint::conditional_select(&a.0, &b.0, choice))
    }
}

impl<const L: usize, const C: Word> ConstantTimeEq for Special<L, C> {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use crypto_bigint::modular::ConstMontyForm;
    use crypto_bigint::{impl_modulus, Uint, U512};

    use super::{Field, Special};

    impl_modulus!(
        P512,
        U512,
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\
         FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7"
    );
    type Monty = ConstMontyForm<P512, { U512::LIMBS }>;
    type Fast = Special<{ U512::LIMBS }, 569>;

    /// Values that stress the reduction: 0, 1, p − 1, p − 2, near 2^511, words of all ones.
    fn values() -> Vec<U512> {
        let p = Fast::MODULUS;
        let mut rng = crate::crypto::test_rng::Xorshift::new(0x0123_4567_89AB_CDEF);
        let mut out = vec![
            U512::ZERO,
            U512::ONE,
            p.wrapping_sub(&U512::ONE),
            p.wrapping_sub(&U512::from_u8(2)),
            U512::ONE.shl_vartime(511),
            U512::from_u64(u64::MAX),
        ];
        for _ in 0..200 {
            let words: [u64; 8] = std::array::from_fn(|_| rng.next_u64());
            out.push(Uint::from_words(words).rem_vartime(&p.to_nz().expect("p")));
        }
        out
    }

    #[test]
    fn the_special_field_computes_what_the_montgomery_form_does() {
        let values = values();
        for (i, a) in values.iter().enumerate() {
            let b = &values[(i * 7 + 3) % values.len()];
            let (fa, fb) = (Fast::new(a), Fast::new(b));
            let (ma, mb) = (Monty::new(a), Monty::new(b));
            assert_eq!(fa.mul(&fb).retrieve(), ma.mul(&mb).retrieve(), "{a} · {b}");
            assert_eq!(fa.square().retrieve(), ma.square().retrieve(), "{a}²");
            assert_eq!(fa.add(&fb).retrieve(), ma.add(&mb).retrieve(), "{a} + {b}");
            assert_eq!(fa.sub(&fb).retrieve(), ma.sub(&mb).retrieve(), "{a} − {b}");
            assert_eq!(fa.neg().retrieve(), ma.neg().retrieve(), "−{a}");
            let inverse = fa.inv_vartime();
            if a != &U512::ZERO {
                let inverse = inverse.expect("invertible");
                assert_eq!(inverse.mul(&fa).retrieve(), U512::ONE, "{a}⁻¹");
            }
        }
        // Integers at or above p are reduced.
        let p = Fast::MODULUS;
        assert_eq!(Fast::new(&p).retrieve(), U512::ZERO);
        assert_eq!(Fast::new(&U512::MAX).retrieve(), U512::from_u16(568));
    }
}
