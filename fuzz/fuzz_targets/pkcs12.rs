//! Fuzz target `pkcs12`: arbitrary bytes as a key store file; errors are fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qoltanba::keystore::{KeyStore, Pkcs12Store};
use secrecy::SecretString;

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = Pkcs12Store::open(data, &SecretString::from("Qwerty12")) {
        for key in store.keys() {
            let _ = key.certificate.subject_dn();
            let _ = store.signer(&key.alias);
        }
    }
});
