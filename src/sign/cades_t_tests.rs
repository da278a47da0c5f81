//! CAdES-T by splicing: a token from a real `openssl ts` TSA (`tests/tsa/make-tsa.sh`) added to
//! our CMS verifies with our verifier and with `openssl cms -verify` and `openssl ts -verify`;
//! other signers stay byte for byte; a token over another signature is refused.

use std::path::Path;

use super::*;
use crate::crypto::{HashAlgorithm, Signer as _};
use crate::sign::cms::sign_data;
use crate::sign::cms::tests::{nca_signer, openssl};
use crate::sign::tlv;
use crate::sign::tsp::{self, Query, POLICY_RSA};

const TIME: time::OffsetDateTime = time::macros::datetime!(2020-06-01 00:00:00 UTC);

/// A test TSA in `dir`, or `None` (skipped visibly) without openssl.
fn tsa(dir: &Path) -> Option<()> {
    if !crate::platform::skip::needs("openssl", crate::platform::skip::on_path("openssl")) {
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tsa/make-tsa.sh");
    let made = std::process::Command::new(script).arg(dir).status().expect("make-tsa.sh");
    assert!(made.success(), "make-tsa.sh failed");
    Some(())
}

/// The TSA's answer to `query`.
fn stamp(dir: &Path, query: &Query) -> Vec<u8> {
    std::fs::write(dir.join("q.tsq"), &query.der).expect("write query");
    let reply = ["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq", "-out", "r.tsr"];
    assert!(openssl(dir, &reply), "openssl ts -reply");
    tsp::token_of_response(&std::fs::read(dir.join("r.tsr")).expect("reply")).expect("granted")
}

fn stamped(dir: &Path, cms: &[u8]) -> (Vec<u8>, Query) {
    let [signer] = <[Unstamped; 1]>::try_from(unstamped(cms).expect("signers")).expect("one");
    let hash = signer.algorithm.hash();
    let query = Query::new(&signer.signature, hash, POLICY_RSA, [7; 8]).expect("query");
    let token = stamp(dir, &query);
    (add_time_stamp(cms, signer.index, &token).expect("spliced"), query)
}

#[test]
fn a_stamped_cms_verifies_here_and_in_openssl() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(()) = tsa(dir.path()) else { return };
    let signer = nca_signer(dir.path());
    let cms = sign_data(&signer, b"invoice 42", true, TIME).expect("CAdES-BES");
    let (cades_t, query) = stamped(dir.path(), &cms);
    assert!(unstamped(&cades_t).expect("signers").is_empty(), "stamped once");
    let verified = crate::sign::cms_verify::verify(&cades_t, None).expect("ours");
    let time_stamp = verified[0].time_stamp.as_ref().expect("the stamp is read");
    time_stamp.answers(&query).expect("the token answers the query");
    assert_eq!(time_stamp.policy, POLICY_RSA);
    assert!(time_stamp.tsa.subject_dn().contains("Qoltanba Test TSA"));
    std::fs::write(dir.path().join("t.der"), &cades_t).expect("write");
    let verify = ["cms", "-verify", "-inform", "DER", "-in", "t.der", "-noverify", "-out", "o"];
    assert!(openssl(dir.path(), &verify), "openssl cms -verify");
    let token = token_of(&cades_t).expect("token");
    std::fs::write(dir.path().join("token.der"), token).expect("write");
    let digest = crate::crypto::hex(&HashAlgorithm::Sha256.digest(&signature_of(&cades_t)));
    let ts_verify = ["ts", "-verify", "-in", "token.der", "-token_in", "-digest", &digest];
    assert!(openssl(dir.path(), &[&ts_verify[..], &["-CAfile", "tsaca.pem"]].concat()));
    assert_eq!(signer.algorithm().hash(), HashAlgorithm::Sha256);
}

#[test]
fn a_token_over_another_signature_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(()) = tsa(dir.path()) else { return };
    let signer = nca_signer(dir.path());
    let cms = sign_data(&signer, b"invoice 42", true, TIME).expect("CAdES-BES");
    let other = Query::new(b"another signature", HashAlgorithm::Sha256, POLICY_RSA, [9; 8]);
    let token = stamp(dir.path(), &other.expect("query"));
    let wrong = add_time_stamp(&cms, 0, &token).expect("spliced");
    let error = crate::sign::cms_verify::verify(&wrong, None).expect_err("refused").to_string();
    assert!(error.contains("over another signature"), "{error}");
}

#[test]
fn other_signers_and_attributes_stay_byte_for_byte() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(()) = tsa(dir.path()) else { return };
    let signer = nca_signer(dir.path());
    let cms = sign_data(&signer, b"contract", false, TIME).expect("CAdES-BES");
    let two = with_signer_twice(&cms);
    assert_eq!(unstamped(&two).expect("two").len(), 2);
    let signature = unstamped(&two).expect("two")[1].signature.clone();
    let query = Query::new(&signature, HashAlgorithm::Sha256, POLICY_RSA, [3; 8]).expect("q");
    let token = stamp(dir.path(), &query);
    let once = add_time_stamp(&two, 1, &token).expect("spliced");
    assert_eq!(signer_infos(&once)[0], signer_infos(&two)[0], "the other signer is untouched");
    assert_eq!(unstamped(&once).expect("one left")[0].index, 0);
    let twice = add_time_stamp(&once, 1, &token).expect("a second token on the same signer");
    let fields = signer_infos(&twice);
    let attrs = tlv::children(fields[1].last().expect("attrs")).expect("set");
    assert_eq!(attrs.len(), 2, "both tokens kept in the unsigned attributes");
    assert!(add_time_stamp(&two, 2, &token).is_err(), "no third signer");
    assert!(add_time_stamp(&two, 0, b"not a token").is_err());
}

/// The CMS with its one SignerInfo twice (a stand-in for a co-signed CMS).
fn with_signer_twice(cms: &[u8]) -> Vec<u8> {
    let outer = tlv::children(cms).expect("ci");
    let sd = tlv::children(outer[1]).expect("explicit")[0];
    let fields = tlv::children(sd).expect("sd");
    let (set, before) = fields.split_last().expect("fields");
    let signer = tlv::children(set).expect("set")[0];
    let set = tlv::encode_all(0x31, &[signer, signer]);
    let mut parts: Vec<&[u8]> = before.to_vec();
    parts.push(&set);
    let sd = tlv::encode_all(0x30, &parts);
    tlv::encode_all(0x30, &[outer[0], &tlv::encode(0xa0, &sd)])
}

/// The fields of every SignerInfo.
fn signer_infos(cms: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let outer = tlv::children(cms).expect("ci");
    let sd = tlv::children(outer[1]).expect("explicit")[0];
    let fields = tlv::children(sd).expect("sd");
    let set = fields.last().expect("signerInfos");
    tlv::children(set)
        .expect("set")
        .iter()
        .map(|s| tlv::children(s).expect("si").iter().map(|f| f.to_vec()).collect())
        .collect()
}

/// The first signer's signature value.
fn signature_of(cms: &[u8]) -> Vec<u8> {
    tlv::value(&signer_infos(cms)[0][5]).expect("signature").to_vec()
}

/// The first signer's time-stamp token.
fn token_of(cms: &[u8]) -> Option<Vec<u8>> {
    let unsigned = signer_infos(cms)[0].get(6)?.clone();
    let attribute = tlv::children(&unsigned).ok()?.first()?.to_vec();
    let values = tlv::children(&attribute).ok()?.get(1)?.to_vec();
    Some(tlv::children(&values).ok()?.first()?.to_vec())
}
