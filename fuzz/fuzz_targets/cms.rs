//! Fuzz target `cms`: arbitrary bytes as a CMS SignedData, attached and with detached content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qoltanba::sign::cms_verify;

fuzz_target!(|data: &[u8]| {
    let _ = cms_verify::verify(data, None);
    let _ = cms_verify::verify(data, Some(b"content"));
});
