//! Fuzz target `xml`: the XML input path — parsing as signing does, by-element targets, and the
//! verifier (C14N of whatever parses).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qoltanba::sign::{xml_verify, xmldsig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = xmldsig::check_document(text);
    let _ = xmldsig::check_element(text, "//*[@Id]", "/*");
    let _ = xml_verify::verify(text);
});
