//! The NCA's GOST keys, opened by the key store, make CMS and XMLDSig that our verifiers
//! accept: the composition the flow performs, over every GOST algorithm of the fixtures.

use crate::crypto::SignatureAlgorithm;
use crate::keystore::pkcs12::nca::gost_signers;

#[test]
fn gost_cms_and_xml_made_here_verify() {
    let time = time::macros::datetime!(2026-06-01 12:00:00 UTC);
    let signers = gost_signers();
    let mut seen = Vec::new();
    for (path, signer) in signers.iter().filter(|(_, s)| {
        let new = !seen.contains(&s.algorithm());
        seen.push(s.algorithm());
        new
    }) {
        let cms = crate::sign::cms::sign_data(signer.as_ref(), b"GOST CMS", true, time)
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let verified = crate::sign::cms_verify::verify(&cms, None).expect("CMS verifies");
        assert_eq!(&verified[0].certificate, signer.certificate());
        let xml = crate::sign::xmldsig::sign_enveloped(signer.as_ref(), "<doc><a>GOST</a></doc>")
            .unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(xml.contains(signer.algorithm().xml_uri()), "{xml}");
        let certificates = crate::sign::xml_verify::verify(&xml).expect("XML verifies");
        assert_eq!(&certificates[0], signer.certificate());
    }
    seen.dedup();
    assert!(
        seen.contains(&SignatureAlgorithm::Gost2004)
            && seen.contains(&SignatureAlgorithm::Gost2015_512)
    );
}
