//! Known-answer tests (GOST R 34.10-2012 Appendix A, RFC 6986, RFC 5831), the group law on
//! every curve, and the NCA material: chains, a CRL, every GOST `.p12`.

use crypto_bigint::{impl_modulus, Uint, U256, U512};

use super::curves::{curve, CryptoProA, CurveSpec, Tc26_256A, Tc26_512A};
use super::point::Point;
use super::scheme;
use crate::crypto::HashAlgorithm;

mod kat_curves {
    use super::*;

    /// The 256-bit example curve of GOST R 34.10-2012 A.1 (RFC 7091 §7.1).
    #[derive(Debug, Clone, Copy)]
    pub struct Example256;
    impl_modulus!(
        Example256P,
        U256,
        "8000000000000000000000000000000000000000000000000000000000000431"
    );
    impl_modulus!(
        Example256Q,
        U256,
        "8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3"
    );
    curve!(
        Example256, U256, Example256P, Example256Q,
        fe: crypto_bigint::modular::ConstMontyForm<Example256P, { U256::LIMBS }>,
        a: "0000000000000000000000000000000000000000000000000000000000000007",
        b: "5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E",
        x: "0000000000000000000000000000000000000000000000000000000000000002",
        y: "08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8"
    );

    /// The 512-bit example curve of GOST R 34.10-2012 A.2.
    #[derive(Debug, Clone, Copy)]
    pub struct Example512;
    impl_modulus!(
        Example512P,
        U512,
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D\
         F1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373"
    );
    impl_modulus!(
        Example512Q,
        U512,
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D\
         A82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF"
    );
    curve!(
        Example512, U512, Example512P, Example512Q,
        fe: crypto_bigint::modular::ConstMontyForm<Example512P, { U512::LIMBS }>,
        a: "0000000000000000000000000000000000000000000000000000000000000000\
            0000000000000000000000000000000000000000000000000000000000000007",
        b: "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC43\
            61834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
        x: "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762\
            FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
        y: "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C\
            83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E"
    );
}

use kat_curves::{Example256, Example512};

/// One known answer: private key, public key, digest integer, nonce and signature, all
/// big-endian hex as the standard prints them.
struct Kat {
    d: &'static str,
    qx: &'static str,
    qy: &'static str,
    e: &'static str,
    k: &'static str,
    r: &'static str,
    s: &'static str,
}

/// GOST R 34.10-2012 Appendix A.1 (= RFC 7091 §7.1).
const KAT_256: Kat = Kat {
    d: "7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28",
    qx: "7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B",
    qy: "26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA",
    e: "2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5",
    k: "77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3",
    r: "41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493",
    s: "01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40",
};

/// GOST R 34.10-2012 Appendix A.2.
const KAT_512: Kat = Kat {
    d: "0BA6048AADAE241BA40936D47756D7C93091A0E8514669700EE7508E508B1020\
        72E8123B2200A0563322DAD2827E2714A2636B7BFD18AADFC62967821FA18DD4",
    qx: "115DC5BC96760C7B48598D8AB9E740D4C4A85A65BE33C1815B5C320C854621DD\
         5A515856D13314AF69BC5B924C8B4DDFF75C45415C1D9DD9DD33612CD530EFE1",
    qy: "37C7C90CD40B0F5621DC3AC1B751CFA0E2634FA0503B3D52639F5D7FB72AFD61\
         EA199441D943FFE7F0C70A2759A3CDB84C114E1F9339FDF27F35ECA93677BEEC",
    e: "3754F3CFACC9E0615C4F4A7C4D8DAB531B09B6F9C170C533A71D147035B0C591\
        7184EE536593F4414339976C647C5D5A407ADEDB1D560C4FC6777D2972075B8C",
    k: "0359E7F4B1410FEACC570456C6801496946312120B39D019D455986E364F3658\
        86748ED7A44B3E794434006011842286212273A6D14CF70EA3AF71BB1AE679F1",
    r: "2F86FA60A081091A23DD795E1E3C689EE512A3C82EE0DCC2643C78EEA8FCACD3\
        5492558486B20F1C9EC197C90699850260C93BCBCD9C5C3317E19344E173AE36",
    s: "1081B394696FFE8E6585E7A9362D26B6325F56778AADBC081C0BFBE933D52FF5\
        823CE288E8C4F362526080DF7F70CE406A6EEB1F56919CB92A9853BDE73E5B4A",
};

fn hex(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (0..clean.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).expect("hex"))
        .collect()
}

fn le(text: &str) -> Vec<u8> {
    let mut bytes = hex(text);
    bytes.reverse();
    bytes
}

fn known_answer<const L: usize, C: CurveSpec<L>>(kat: &Kat) {
    let d = le(kat.d);
    let public = scheme::public_key::<L, C>(&d).expect("public key");
    assert_eq!(public, [le(kat.qx), le(kat.qy)].concat(), "Q = d·G");
    let int = |t: &str| Uint::<L>::from_le_slice(&le(t));
    let (r, s) = scheme::sign_with_k::<L, C>(&int(kat.d), &int(kat.e), &int(kat.k), &int(kat.qx))
        .expect("signs");
    assert_eq!((scheme::to_le(&r), scheme::to_le(&s)), (le(kat.r), le(kat.s)));
    let signature = [le(kat.r), le(kat.s)].concat();
    scheme::verify::<L, C>(&public, &le(kat.e), &signature).expect("verifies");
    let mut bad = signature.clone();
    bad[3] ^= 0x20;
    assert!(scheme::verify::<L, C>(&public, &le(kat.e), &bad).is_err());
    let ours = scheme::sign::<L, C>(&d, &le(kat.e)).expect("signs with a fresh nonce");
    assert_ne!(ours, signature, "nonces are not fixed");
    scheme::verify::<L, C>(&public, &le(kat.e), &ours).expect("verifies");
}

#[test]
fn gost_2012_appendix_a1_256() {
    known_answer::<{ U256::LIMBS }, Example256>(&KAT_256);
}

#[test]
fn gost_2012_appendix_a2_512() {
    known_answer::<{ U512::LIMBS }, Example512>(&KAT_512);
}

fn group_law<const L: usize, C: CurveSpec<L>>() {
    let g = C::generator();
    let (gx, gy) = g.affine().expect("affine");
    assert_eq!((gx, gy), (C::GX, C::GY));
    let order = *<C::Q as crypto_bigint::modular::ConstMontyParams<L>>::MODULUS.as_ref();
    assert!(g.mul(&order).affine().is_none(), "q·G = O");
    assert!(g.add(&g.neg()).affine().is_none(), "G − G = O");
    let o = Point::<L, C>::identity();
    assert_eq!(o.add(&g).affine(), Some((gx, gy)), "O + G = G");
    assert_eq!(g.add(&o).affine(), Some((gx, gy)), "G + O = G");
    let k = order.wrapping_sub(&Uint::from_u64(0x1234_5678_9abc_def1));
    let by_table = Point::<L, C>::mul_base(&k).affine();
    assert_eq!(by_table, g.mul(&k).affine(), "fixed base = variable base");
    let minus_g = g.neg().affine();
    let q_minus_1 = order.wrapping_sub(&Uint::ONE);
    assert_eq!(Point::<L, C>::mul_base(&q_minus_1).affine(), minus_g, "(q−1)·G = −G");
    assert_eq!(g.double().affine(), Point::<L, C>::mul_base(&Uint::from_u8(2)).affine());
}

#[test]
fn group_law_holds_on_every_curve() {
    group_law::<{ U512::LIMBS }, Tc26_512A>();
    group_law::<{ U256::LIMBS }, Tc26_256A>();
    group_law::<{ U256::LIMBS }, CryptoProA>();
    group_law::<{ U256::LIMBS }, Example256>();
    group_law::<{ U512::LIMBS }, Example512>();
}

#[test]
fn tc26_256a_signs_and_verifies() {
    let d = le("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF");
    let curve = super::GostCurve::Tc26_256A;
    let public = curve.public_key(&d).expect("public");
    let digest = HashAlgorithm::Streebog256.digest(b"TC26-256-A");
    let signature = curve.sign_digest(&d, &digest).expect("signs");
    curve.verify_digest(&public, &digest, &signature).expect("verifies");
    let other = HashAlgorithm::Streebog256.digest(b"TC26-256-B");
    assert!(curve.verify_digest(&public, &other, &signature).is_err());
}

#[test]
fn bad_inputs_are_errors() {
    let curve = super::GostCurve::CryptoProA;
    let d = le("01");
    assert!(curve.public_key(&d).is_err(), "short key");
    assert!(curve.public_key(&[0u8; 32]).is_err(), "zero key");
    assert!(curve.public_key(&[0xFF; 32]).is_err(), "key ≥ q");
    let mut one = [0u8; 32];
    one[0] = 1;
    let public = curve.public_key(&one).expect("d = 1");
    assert_eq!(public[..32], le("01")[..].iter().chain(&[0u8; 31]).copied().collect::<Vec<_>>());
    assert!(curve.sign_digest(&one, &[0u8; 31]).is_err(), "digest length");
    let digest = [7u8; 32];
    let signature = curve.sign_digest(&one, &digest).expect("signs");
    assert!(curve.verify_digest(&public, &digest, &signature[..63]).is_err());
    assert!(curve.verify_digest(&public, &digest, &[0u8; 64]).is_err(), "r = s = 0");
    assert!(curve.verify_digest(&public, &digest, &[0xFF; 64]).is_err(), "r, s ≥ q");
    let mut off_curve = public.clone();
    off_curve[40] ^= 1;
    assert!(curve.verify_digest(&off_curve, &digest, &signature).is_err());
    // A zero digest counts as e = 1 (§6.1 step 2) and still signs.
    let zero = curve.sign_digest(&one, &[0u8; 32]).expect("signs e = 1");
    curve.verify_digest(&public, &[0u8; 32], &zero).expect("verifies e = 1");
}

/// GOST R 34.11-2012 examples M1 and M2 (RFC 6986 §10), bytes as RustCrypto and the GOST
/// engine print them (`openssl dgst -engine gost -streebog512`).
#[test]
fn streebog_known_answers() {
    let m1 = b"012345678901234567890123456789012345678901234567890123456789012";
    let m2 = hex(
        "d1e520e2e5f2f0e82c20d1f2f0e8e1eee6e820e2edf3f6e82c20e2e5fef2fa20f120eceef0ff20f1f2f0e5\
         ebe0ece820ede020f5f0e0e1f0fbff20efebfaeafb20c8e3eef0e5e2fb",
    );
    let cases: [(&[u8], HashAlgorithm, &str); 4] = [
        (m1, HashAlgorithm::Streebog512, "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48"),
        (m1, HashAlgorithm::Streebog256, "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"),
        (&m2, HashAlgorithm::Streebog512, "1e88e62226bfca6f9994f1f2d51569e0daf8475a3b0fe61a5300eee46d961376035fe83549ada2b8620fcd7c496ce5b33f0cb9dddc2b6460143b03dabac9fb28"),
        (&m2, HashAlgorithm::Streebog256, "9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50"),
    ];
    for (message, hash, expected) in cases {
        assert_eq!(hash.digest(message), hex(expected), "{hash:?}");
    }
}

/// GOST R 34.11-94 with the test parameter set (RFC 5831 §7.3.1 and the standard's own
/// examples); this is GOST 34.311-95 of the NCA.
#[test]
fn gost_34311_known_answers() {
    let cases: [(&str, &str); 4] = [
        ("", "ce85b99cc46752fffee35cab9a7b0278abb4c2d2055cff685af4912c49490f8d"),
        ("abc", "f3134348c44fb1b2a277729e2285ebb5cb5e0f29c975bc753b70497c06a4d51d"),
        (
            "This is message, length=32 bytes",
            "b1c466d37519b82e8319819ff32595e047a28cb6f83eff1c6916a815a637fffa",
        ),
        (
            "Suppose the original message has length = 50 bytes",
            "471aba57a60a770d3a76130635c1fbea4ef14de51f78b4ae57dd893b62f55208",
        ),
    ];
    for (message, expected) in cases {
        assert_eq!(HashAlgorithm::Gost34311.digest(message.as_bytes()), hex(expected), "{message}");
    }
}

#[path = "nca_tests.rs"]
mod nca;

/// Prints sign and verify timings; run with
/// `cargo test --release --lib gost_speed -- --ignored --nocapture`.
#[test]
#[ignore = "timing report, not a check"]
fn gost_speed() {
    for curve in
        [super::GostCurve::Tc26_512A, super::GostCurve::Tc26_256A, super::GostCurve::CryptoProA]
    {
        let d = vec![0x1A; curve.coordinate_len()];
        let public = curve.public_key(&d).expect("public");
        let digest = vec![0xA5; curve.coordinate_len()];
        let signature = curve.sign_digest(&d, &digest).expect("warm-up");
        let rounds = 200u32;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            curve.sign_digest(&d, &digest).expect("signs");
        }
        let sign = start.elapsed() / rounds;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            curve.verify_digest(&public, &digest, &signature).expect("verifies");
        }
        let verify = start.elapsed() / rounds;
        eprintln!("{curve:?}: sign {sign:?}, verify {verify:?}");
    }
}
