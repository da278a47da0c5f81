//! The NCA's CA certificates shipped with the program (`src/pki/roots/README.md` says where
//! each came from and how it was checked): the production roots and issuing CAs, RSA and GOST
//! (current and the 2015/2018 generations, for old signatures), and, for test setups only
//! (`[trust] nca_test`), the NCA's published test CAs.

use crate::crypto::Certificate;

/// Production roots and issuing CAs (DER).
const PRODUCTION: &[&[u8]] = &[
    include_bytes!("roots/production/nca_gost_2018.cer"),
    include_bytes!("roots/production/nca_gost_2022.cer"),
    include_bytes!("roots/production/nca_rsa_2018.cer"),
    include_bytes!("roots/production/nca_rsa_2022.cer"),
    include_bytes!("roots/production/root_gost_2015.cer"),
    include_bytes!("roots/production/root_gost_2022.cer"),
    include_bytes!("roots/production/root_rsa_2015.cer"),
    include_bytes!("roots/production/root_rsa_2020.cer"),
];

/// The NCA's test roots and issuing CAs (DER).
const TEST: &[&[u8]] = &[
    include_bytes!("roots/test/nca_gost_2022_test.cer"),
    include_bytes!("roots/test/nca_test_gost_2019.cer"),
    include_bytes!("roots/test/nca_test_gost_2023.cer"),
    include_bytes!("roots/test/nca_test_rsa_2019.cer"),
    include_bytes!("roots/test/nca_test_rsa_2023.cer"),
    include_bytes!("roots/test/root_test_gost_2018.cer"),
    include_bytes!("roots/test/root_test_gost_2020.cer"),
    include_bytes!("roots/test/root_test_gost_2022.cer"),
    include_bytes!("roots/test/root_test_rsa_2018.cer"),
    include_bytes!("roots/test/root_test_rsa_2020.cer"),
];

/// The production NCA CAs.
pub fn production() -> Vec<Certificate> {
    parse(PRODUCTION)
}

/// The NCA's test CAs (for test keys; never trusted unless `[trust] nca_test` says so).
pub fn test() -> Vec<Certificate> {
    parse(TEST)
}

fn parse(all: &[&[u8]]) -> Vec<Certificate> {
    all.iter().filter_map(|der| Certificate::from_der(der).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::verify::verify_issued_by;

    /// The CN of the shipped certificate that signed `cn` (several CAs share a name across
    /// generations, so the signature decides).
    fn issuer_of(all: &[Certificate], cn: &str) -> Option<String> {
        let child = all.iter().find(|c| c.subject_cn().as_deref() == Some(cn)).expect(cn);
        all.iter()
            .filter(|c| c.der() != child.der())
            .find(|c| verify_issued_by(child, c).is_ok())
            .and_then(Certificate::subject_cn)
    }

    #[test]
    fn every_shipped_certificate_parses_and_the_current_chains_verify() {
        let production = production();
        assert_eq!(production.len(), PRODUCTION.len());
        assert_eq!(test().len(), TEST.len());
        assert_eq!(
            issuer_of(&production, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA) 2022").as_deref(),
            Some("НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA)")
        );
        assert_eq!(
            issuer_of(&production, "ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) 2022").as_deref(),
            Some("НЕГІЗГІ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (GOST) 2022")
        );
    }

    #[test]
    fn the_legacy_fixture_keys_chain_to_the_shipped_test_cas() {
        let store = super::super::trust::TrustStore::new(test());
        for cer in [
            "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cer",
            "legacy-2020/organization/active/GOSTKNCA_13a3741b52d7bf860aab199b56fad1f4652e357b.cer",
        ] {
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/fixtures/nca")
                .join(cer);
            let cert = Certificate::from_pem_or_der(&std::fs::read(file).expect("fixture"))
                .expect("certificate");
            let at = cert.not_before() + time::Duration::days(1);
            store.chain(&cert, &[], at).unwrap_or_else(|e| panic!("{cer}: {e}"));
            let production = super::super::trust::TrustStore::new(production());
            assert!(production.chain(&cert, &[], at).is_err(), "a test key is no production key");
        }
    }
}
