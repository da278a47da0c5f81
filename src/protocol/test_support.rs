//! Test helpers: a dispatcher over a [`Service`] whose prompter always cancels and counts how
//! often it was asked, so tests can check that invalid requests never reach the user, and keeps
//! what the last prompt showed of the documents.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::Dispatcher;
use crate::keystore::KeyEntry;
use crate::service::consent::{
    Cancel, DocumentSummary, PromptAnswer, PromptOutcome, PromptRequest, Prompter,
};
use crate::service::{Caller, Service, ServiceSettings};

/// A prompter that cancels every prompt and counts them.
#[derive(Default)]
pub struct CancellingPrompter {
    asked: AtomicUsize,
    documents: Mutex<Vec<DocumentSummary>>,
}

impl Prompter for CancellingPrompter {
    fn ask(
        &self,
        request: &PromptRequest,
        _: Option<&crate::service::consent::Retry>,
        _: &Cancel,
    ) -> PromptAnswer {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut shown) = self.documents.lock() {
            shown.clone_from(&request.documents);
        }
        PromptAnswer::Cancel
    }

    fn choose_key(&self, _: &PromptRequest, _: &[KeyEntry], _: &Cancel) -> Option<String> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        None
    }

    fn choose_file(
        &self,
        _: Option<&crate::service::Origin>,
        _: &str,
        _: &Cancel,
    ) -> Option<PathBuf> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        None
    }

    fn finish(&self, _: &PromptRequest, _: &PromptOutcome) {}
}

/// A dispatcher with a cancelling prompter.
pub struct Harness {
    prompter: Arc<CancellingPrompter>,
    dispatcher: Dispatcher,
}

impl Harness {
    /// A fresh service and dispatcher.
    pub fn new() -> Self {
        let prompter = Arc::new(CancellingPrompter::default());
        let service = Service::new(prompter.clone(), ServiceSettings::default());
        Self { prompter, dispatcher: Dispatcher::new(service) }
    }

    /// The reply to one request from a page at `https://example.kz`.
    pub async fn reply(&self, text: &str) -> String {
        self.reply_from(Some("https://example.kz"), text).await
    }

    /// The reply to one request from `origin` (`None`: a local program without `Origin`).
    pub async fn reply_from(&self, origin: Option<&str>, text: &str) -> String {
        let caller = Caller::from_header(origin);
        self.dispatcher.handle(&caller, text.to_string()).await
    }

    /// How many prompts the user saw.
    pub fn prompts(&self) -> usize {
        self.prompter.asked.load(Ordering::SeqCst)
    }

    /// What the last prompt showed of its documents.
    pub fn shown(&self) -> Vec<DocumentSummary> {
        self.prompter.documents.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// The service.
    pub fn service(&self) -> &Arc<Service> {
        self.dispatcher.service()
    }
}
