//! The GOST R 34.10-2012 signature scheme (§6.1 signing, §6.2 verification; RFC 7091 §6.1,
//! §6.2), which is also GOST R 34.10-2001 and ST RK GOST R 34.10-2015, over any curve of
//! [`super::curves`]. Integers come and go as little-endian bytes (`kz-pki.md` §2.2).
//!
//! Secrets (`d`, `k`) stay in constant-time arithmetic and are zeroized after use. The nonce
//! comes from [`super::nonce`].

use crypto_bigint::modular::{ConstMontyForm, ConstMontyParams};
use crypto_bigint::{NonZero, Uint, Zero};
use zeroize::Zeroizing;

use super::curves::CurveSpec;
use super::field::Field as _;
use super::nonce::NonceStream;
use super::point::{Fe, Point};
use crate::crypto::CryptoError;

/// A scalar modulo `q`.
type Scalar<const L: usize, C> = ConstMontyForm<<C as CurveSpec<L>>::Q, L>;

/// Attempts before giving up on finding a usable nonce (each fails with probability ≈ 2⁻²⁵⁰).
const MAX_ATTEMPTS: usize = 16;

/// Width in bytes of one integer of the curve.
pub(crate) const fn width<const L: usize>() -> usize {
    Uint::<L>::BYTES
}

/// An integer from exactly `width()` little-endian bytes.
pub(crate) fn from_le<const L: usize>(bytes: &[u8]) -> Option<Uint<L>> {
    (bytes.len() == width::<L>()).then(|| Uint::from_le_slice(bytes))
}

/// The little-endian bytes of `value`, `width()` long.
pub(crate) fn to_le<const L: usize>(value: &Uint<L>) -> Vec<u8> {
    value.as_words().iter().flat_map(|word| word.to_le_bytes()).collect()
}

fn order<const L: usize, C: CurveSpec<L>>() -> NonZero<Uint<L>> {
    *C::Q::MODULUS.as_nz_ref()
}

/// `e = α mod q`, and 1 if that is 0 (§6.1 step 2), where α is the digest read little-endian.
fn digest_scalar<const L: usize, C: CurveSpec<L>>(digest: &[u8]) -> Result<Uint<L>, CryptoError> {
    let alpha = from_le::<L>(digest)
        .ok_or(CryptoError::DigestLength { expected: width::<L>(), got: digest.len() })?;
    let e = alpha.rem(&order::<L, C>());
    Ok(if bool::from(e.is_zero()) { Uint::ONE } else { e })
}

/// `x mod q` of the affine point `k·G` (or `z1·G + z2·Q`).
fn r_of<const L: usize, C: CurveSpec<L>>(
    point: &Point<L, C>,
    blind: Option<&Uint<L>>,
) -> Option<Uint<L>> {
    let (x, _) = match blind {
        Some(blind) => point.affine_blinded(blind)?,
        None => point.affine()?,
    };
    Some(x.rem(&order::<L, C>()))
}

/// A random blinding factor for [`Point::affine_blinded`].
fn random_blind<const L: usize>() -> Result<Zeroizing<Uint<L>>, CryptoError> {
    use rand_core::{OsRng, RngCore};
    let mut bytes = Zeroizing::new(vec![0u8; width::<L>()]);
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| CryptoError::Signing(format!("no OS randomness: {e}")))?;
    Ok(Zeroizing::new(Uint::from_le_slice(&bytes)))
}

/// The public key `d·G` as `x‖y` little-endian, for `d` in `[1, q−1]` given little-endian.
pub(crate) fn public_key<const L: usize, C: CurveSpec<L>>(
    d: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let d = private_scalar::<L, C>(d)?;
    let (x, y) = Point::<L, C>::mul_base(&d)
        .affine_blinded(&*random_blind::<L>()?)
        .ok_or_else(|| CryptoError::InvalidKey("the private key is zero".into()))?;
    Ok([to_le(&x), to_le(&y)].concat())
}

/// `d` from its little-endian bytes, checked to lie in `[1, q−1]`.
fn private_scalar<const L: usize, C: CurveSpec<L>>(
    d: &[u8],
) -> Result<Zeroizing<Uint<L>>, CryptoError> {
    let d = Zeroizing::new(
        from_le::<L>(d).ok_or_else(|| CryptoError::InvalidKey("private key length".into()))?,
    );
    let in_range = !bool::from(d.is_zero()) && *d < *C::Q::MODULUS.as_ref();
    match in_range {
        true => Ok(d),
        false => Err(CryptoError::InvalidKey("the private key is out of range".into())),
    }
}

/// Signs `digest` with the private key `d` (little-endian); returns `r‖s`, each little-endian.
pub(crate) fn sign<const L: usize, C: CurveSpec<L>>(
    d: &[u8],
    digest: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let e = digest_scalar::<L, C>(digest)?;
    let d_int = private_scalar::<L, C>(d)?;
    let mut nonces = NonceStream::new(d, digest)?;
    for _ in 0..MAX_ATTEMPTS {
        let k = nonces.next_nonce(C::Q::MODULUS.as_ref());
        if let Some((r, s)) = sign_with_k::<L, C>(&d_int, &e, &k, &*random_blind::<L>()?) {
            return Ok([to_le(&r), to_le(&s)].concat());
        }
    }
    Err(CryptoError::Signing("no usable nonce was found".into()))
}

/// §6.1 steps 4–6 with a given nonce `k` in `[1, q−1]`: `r = x(k·G) mod q`,
/// `s = (r·d + k·e) mod q`; `None` when `r` or `s` is zero. `blind` is a secret random value
/// for the inversion that yields `r`.
pub(crate) fn sign_with_k<const L: usize, C: CurveSpec<L>>(
    d: &Uint<L>,
    e: &Uint<L>,
    k: &Uint<L>,
    blind: &Uint<L>,
) -> Option<(Uint<L>, Uint<L>)> {
    let r = r_of(&Point::<L, C>::mul_base(k), Some(blind))?;
    let d_m = Zeroizing::new(Scalar::<L, C>::new(d));
    let k_m = Zeroizing::new(Scalar::<L, C>::new(k));
    let s = Scalar::<L, C>::new(&r).mul(&d_m).add(&k_m.mul(&Scalar::<L, C>::new(e))).retrieve();
    let usable = !bool::from(r.is_zero()) && !bool::from(s.is_zero());
    usable.then_some((r, s))
}

/// Verifies `r‖s` (each little-endian) over `digest` with the public key `x‖y`
/// (little-endian), §6.2.
pub(crate) fn verify<const L: usize, C: CurveSpec<L>>(
    public: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let w = width::<L>();
    let q_point = public_point::<L, C>(public)?;
    if signature.len() != 2 * w {
        return Err(CryptoError::BadSignature);
    }
    let (r_bytes, s_bytes) = signature.split_at(w);
    let (r, s) = (Uint::<L>::from_le_slice(r_bytes), Uint::<L>::from_le_slice(s_bytes));
    let q = C::Q::MODULUS.as_ref();
    if bool::from(r.is_zero()) || bool::from(s.is_zero()) || r >= *q || s >= *q {
        return Err(CryptoError::BadSignature);
    }
    let e = Scalar::<L, C>::new(&digest_scalar::<L, C>(digest)?);
    let v = C::invert_q_vartime(&e);
    let z1 = Scalar::<L, C>::new(&s).mul(&v).retrieve();
    let z2 = Scalar::<L, C>::new(&r).mul(&v).neg().retrieve();
    let c = Point::<L, C>::mul_base(&z1).add(&q_point.mul(&z2));
    match r_of(&c, None) {
        Some(big_r) if big_r == r => Ok(()),
        _ => Err(CryptoError::BadSignature),
    }
}

/// The public key point from `x‖y` little-endian, checked to be on the curve.
fn public_point<const L: usize, C: CurveSpec<L>>(
    public: &[u8],
) -> Result<Point<L, C>, CryptoError> {
    let w = width::<L>();
    let bad = || CryptoError::InvalidCertificate("malformed GOST public key".into());
    if public.len() != 2 * w {
        return Err(bad());
    }
    let (x_bytes, y_bytes) = public.split_at(w);
    let (x, y) = (Uint::<L>::from_le_slice(x_bytes), Uint::<L>::from_le_slice(y_bytes));
    let p = C::P::MODULUS.as_ref();
    if x >= *p || y >= *p {
        return Err(bad());
    }
    let (x, y) = (Fe::<L, C>::new(&x), Fe::<L, C>::new(&y));
    match Point::<L, C>::is_on_curve(&x, &y) {
        true => Ok(Point::from_affine(x, y)),
        false => Err(bad()),
    }
}
