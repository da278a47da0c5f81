//! Co-signing keeps what was there: a Kalkan CMS and one of ours get a second signer, every
//! signature verifies (ours and `openssl cms -verify`), and the first SignerInfo, the content
//! and the certificates already present are the same bytes as before.

use std::path::Path;

use base64::Engine as _;

use super::*;
use crate::sign::cms::sign_data;
use crate::sign::cms::tests::{generated_signer, nca_signer, openssl_accepts};
use crate::sign::cms_verify;
use crate::sign::tlv;

const TIME: OffsetDateTime = time::macros::datetime!(2020-06-01 00:00:00 UTC);

/// The fields of SignedData: (certificates, signerInfos), as TLVs.
fn parts(cms: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let outer = tlv::children(cms).expect("ci");
    let sd = tlv::children(outer[1]).expect("explicit")[0];
    let fields = tlv::children(sd).expect("sd");
    let certs = fields.iter().find(|f| f[0] == 0xa0).expect("certificates");
    let list = |set: &[u8]| tlv::children(set).expect("set").iter().map(|c| c.to_vec()).collect();
    (list(certs), list(fields.last().expect("signerInfos")))
}

fn kalkan_cms() -> Vec<u8> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/fixtures/nca/legacy-2020/personal/active/\
         RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.cms",
    );
    let text = std::fs::read_to_string(file).expect("fixture");
    let body: String =
        text.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().chars()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).expect("base64")
}

#[test]
fn a_kalkan_cms_gets_a_second_signer_and_keeps_the_first() {
    let dir = tempfile::tempdir().expect("dir");
    let kalkan = kalkan_cms();
    assert!(is_signed_data(&kalkan));
    let second = generated_signer(dir.path());
    let cosigned = add_signer(&second, &kalkan, TIME).expect("co-signed");
    let signers = cms_verify::verify(&cosigned, None).expect("both verify");
    assert_eq!(signers.len(), 2);
    let (before_certs, before_signers) = parts(&kalkan);
    let (certs, signer_infos) = parts(&cosigned);
    assert_eq!(signer_infos[0], before_signers[0], "Kalkan's SignerInfo is untouched");
    assert_eq!(certs[..before_certs.len()], before_certs[..], "its certificates too");
    assert_eq!(certs.len(), before_certs.len() + 1);
    assert_eq!(attached_content(&cosigned).expect("c"), attached_content(&kalkan).expect("c"));
    assert!(openssl_accepts(dir.path(), &cosigned, None), "openssl checks both signers");
}

#[test]
fn the_same_key_twice_adds_a_signer_but_not_a_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let signer = nca_signer(dir.path());
    let cms = sign_data(&signer, b"protocol of the meeting", true, TIME).expect("CMS");
    let twice = add_signer(&signer, &cms, TIME).expect("co-signed");
    let (certs, signer_infos) = parts(&twice);
    assert_eq!((certs.len(), signer_infos.len()), (1, 2));
    assert_eq!(cms_verify::verify(&twice, None).expect("verifies").len(), 2);
    assert!(openssl_accepts(dir.path(), &twice, None));
}

#[test]
fn a_detached_cms_or_no_cms_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let signer = nca_signer(dir.path());
    let detached = sign_data(&signer, b"x", false, TIME).expect("CMS");
    let error = add_signer(&signer, &detached, TIME).expect_err("detached").to_string();
    assert!(error.contains("detached CMS cannot be co-signed"), "{error}");
    assert!(!is_signed_data(b"plain document"));
    assert!(add_signer(&signer, b"plain document", TIME).is_err());
}
