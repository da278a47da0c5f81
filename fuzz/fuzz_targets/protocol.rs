//! Fuzz target `protocol`: whole request texts through the dispatcher, as a web page could send
//! them. Every prompt is cancelled, so only parsing, validation and envelopes are exercised.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use qoltanba::keystore::KeyEntry;
use qoltanba::protocol::Dispatcher;
use qoltanba::service::consent::{
    Cancel, PromptAnswer, PromptOutcome, PromptRequest, Prompter, Retry,
};
use qoltanba::service::{Caller, Service, ServiceSettings};

/// A user who always presses Cancel.
struct Cancels;

impl Prompter for Cancels {
    fn ask(&self, _: &PromptRequest, _: Option<&Retry>, _: &Cancel) -> PromptAnswer {
        PromptAnswer::Cancel
    }
    fn choose_key(&self, _: &PromptRequest, _: &[KeyEntry], _: &Cancel) -> Option<String> {
        None
    }
    fn choose_file(&self, _: Option<&qoltanba::service::Origin>, _: &str, _: &Cancel) -> Option<PathBuf> {
        None
    }
    fn finish(&self, _: &PromptRequest, _: &PromptOutcome) {}
}

fn setup() -> &'static (tokio::runtime::Runtime, Dispatcher) {
    static SETUP: OnceLock<(tokio::runtime::Runtime, Dispatcher)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let service = Service::new(Arc::new(Cancels), ServiceSettings::default());
        (runtime, Dispatcher::new(service))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (runtime, dispatcher) = setup();
    let caller = Caller::from_header(Some("https://fuzz.test"));
    let reply = runtime.block_on(dispatcher.handle(&caller, text.to_string()));
    assert!(serde_json_is_object(&reply), "every reply is one JSON object: {reply}");
});

fn serde_json_is_object(text: &str) -> bool {
    text.starts_with('{') && text.ends_with('}')
}
