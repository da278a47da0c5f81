//! The elliptic curves GOST keys of the NCA use, in short Weierstrass form
//! `y² = x³ + a·x + b (mod p)` with a base point `G` of prime order `q`.
//!
//! Every constant here is big-endian hex, exactly as printed by its source:
//!
//! * **TC26-512-A** (`id-tc26-gost-3410-12-512-paramSetA`, RU 1.2.643.7.1.2.1.2.1, KZ
//!   1.2.398.3.10.1.1.2.2.1): TC26 recommendations R 50.1.114-2016 §A.1; values as in
//!   gost-engine `gost_params.c` (`R3410_2012_512_paramset[0]`). `a = p − 3`, cofactor 1.
//! * **TC26-256-A** (`id-tc26-gost-3410-2012-256-paramSetA`, RU 1.2.643.7.1.2.1.1.1, KZ
//!   1.2.398.3.10.1.1.2.1.1): a twisted Edwards curve (RFC 7836 Appendix A.1) with cofactor 4;
//!   X.509 uses its Weierstrass form, whose `a, b, x, y` are given in RFC 7836 A.1 next to the
//!   Edwards `e, d, u, v` and in gost-engine `gost_params.c` (`R3410_2012_512_paramset[2]`).
//! * **CryptoPro-A** (`id-GostR3410-2001-CryptoPro-A-ParamSet`, RU 1.2.643.2.2.35.1, KZ
//!   1.2.398.3.10.1.1.1.1.1): RFC 4357 §11.4; `a = p − 3`, cofactor 1.
//!
//! `kz-pki.md` §2.1 records that NCA certificates, CRLs, CMS and XML verify with these values.
//! The test curves of GOST R 34.10-2012 Appendix A live in the tests (RFC 7091 §7).

use crypto_bigint::modular::{ConstMontyForm, ConstMontyParams};
use crypto_bigint::{impl_modulus, Uint, U256, U512};

use super::field::{Field, Special};
use super::point::{BaseTable, Point};

/// One GOST curve: field and group moduli as const Montgomery parameters plus `a, b, G`.
///
/// `L` is the limb count of the curve's integers (`U256::LIMBS` or `U512::LIMBS`).
pub(crate) trait CurveSpec<const L: usize>: Sized + Copy + Send + Sync + 'static {
    /// The field prime `p`.
    type P: ConstMontyParams<L> + Copy + Send + Sync;
    /// The prime order `q` of `G`.
    type Q: ConstMontyParams<L> + Copy + Send + Sync;
    /// The coefficient `a`.
    const A: Uint<L>;
    /// The coefficient `b`.
    const B: Uint<L>;
    /// The x coordinate of `G`.
    const GX: Uint<L>;
    /// The y coordinate of `G`.
    const GY: Uint<L>;

    /// The field's elements ([`Field`]): the special-form prime's for the NCA's curves.
    type Fe: Field<L>;

    /// `a` as a field element.
    const A_M: Self::Fe;
    /// Whether `a = p − 3` (TC26-512-A, CryptoPro-A), so `a·x` is `−3·x` without a product.
    const A_IS_MINUS_3: bool = matches!(
        Self::A.cmp_vartime(&Self::P::MODULUS.as_ref().wrapping_sub(&Uint::from_u8(3))),
        core::cmp::Ordering::Equal
    );
    /// `3·b` as an integer below `p` (the complete formulas use it).
    const B3: Uint<L> = {
        let p = Self::P::MODULUS.as_ref();
        Self::B.add_mod(&Self::B, p).add_mod(&Self::B, p)
    };
    /// `3·b` as a field element.
    const B3_M: Self::Fe;

    /// `x⁻¹ mod p` in variable time (safegcd); 0 for 0. Only for public or blinded values.
    fn invert_p_vartime(x: &Self::Fe) -> Self::Fe;

    /// `x⁻¹ mod q` in variable time (safegcd); 0 for 0. Only for public values.
    fn invert_q_vartime(x: &ConstMontyForm<Self::Q, L>) -> ConstMontyForm<Self::Q, L>;

    /// The fixed-base table of `G`, built on first use and kept for the process.
    fn base_table() -> &'static BaseTable<L, Self>;

    /// The base point `G`.
    fn generator() -> Point<L, Self> {
        Point::from_affine(Self::Fe::new(&Self::GX), Self::Fe::new(&Self::GY))
    }
}

/// Implements [`CurveSpec`] for a marker type, with its own lazily built base table.
macro_rules! curve {
    ($name:ident, $uint:ty, $p:ident, $q:ident, fe: $fe:ty,
     a: $a:expr, b: $b:expr, x: $x:expr, y: $y:expr) => {
        impl $crate::crypto::gost::curves::CurveSpec<{ <$uint>::LIMBS }> for $name {
            type P = $p;
            type Q = $q;
            type Fe = $fe;
            const A: $uint = <$uint>::from_be_hex($a);
            const B: $uint = <$uint>::from_be_hex($b);
            const GX: $uint = <$uint>::from_be_hex($x);
            const GY: $uint = <$uint>::from_be_hex($y);
            const A_M: $fe = <$fe>::new(&Self::A);
            const B3_M: $fe = <$fe>::new(&Self::B3);

            fn invert_p_vartime(x: &$fe) -> $fe {
                subtle::CtOption::from(x.inv_vartime())
                    .unwrap_or(<$fe as $crate::crypto::gost::field::Field<_>>::ZERO)
            }

            fn invert_q_vartime(
                x: &crypto_bigint::modular::ConstMontyForm<$q, { <$uint>::LIMBS }>,
            ) -> crypto_bigint::modular::ConstMontyForm<$q, { <$uint>::LIMBS }> {
                use crypto_bigint::modular::ConstMontyForm;
                subtle::CtOption::from(x.inv_vartime()).unwrap_or(ConstMontyForm::ZERO)
            }

            fn base_table(
            ) -> &'static $crate::crypto::gost::point::BaseTable<{ <$uint>::LIMBS }, Self> {
                use $crate::crypto::gost::point::BaseTable;
                static TABLE: std::sync::OnceLock<BaseTable<{ <$uint>::LIMBS }, $name>> =
                    std::sync::OnceLock::new();
                TABLE.get_or_init(BaseTable::new)
            }
        }
    };
}
#[cfg(test)]
pub(crate) use curve;

/// TC26-512-A.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tc26_512A;

impl_modulus!(
    Tc26_512AP,
    U512,
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\
     FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC7"
);
impl_modulus!(
    Tc26_512AQ,
    U512,
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\
     27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275"
);

curve!(
    Tc26_512A, U512, Tc26_512AP, Tc26_512AQ, fe: Special<{ U512::LIMBS }, 569>,
    a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\
        FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDC4",
    b: "E8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265\
        EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760",
    x: "0000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000003",
    y: "7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921\
        DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4"
);

/// TC26-256-A (Weierstrass form of the twisted Edwards curve).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tc26_256A;

impl_modulus!(Tc26_256AP, U256, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97");
impl_modulus!(Tc26_256AQ, U256, "400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67");

curve!(
    Tc26_256A, U256, Tc26_256AP, Tc26_256AQ, fe: Special<{ U256::LIMBS }, 617>,
    a: "C2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335",
    b: "295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513",
    x: "91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28",
    y: "32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C"
);

/// CryptoPro-A (GOST R 34.10-2001).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CryptoProA;

impl_modulus!(
    CryptoProAP,
    U256,
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD97"
);
impl_modulus!(
    CryptoProAQ,
    U256,
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893"
);

curve!(
    CryptoProA, U256, CryptoProAP, CryptoProAQ, fe: Special<{ U256::LIMBS }, 617>,
    a: "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFD94",
    b: "00000000000000000000000000000000000000000000000000000000000000A6",
    x: "0000000000000000000000000000000000000000000000000000000000000001",
    y: "8D91E471E0989CDA27DF505A453F2B7635294F2DDF23E3B122ACC99C9E9F1E14"
);
