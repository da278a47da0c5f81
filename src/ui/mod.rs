//! The user. The service asks a [`Prompter`](crate::service::consent::Prompter) (its trait and
//! vocabulary live in `service::consent`) for consent, key store, key and password; this module
//! implements it: the terminal prompt, the scripted prompt for tests, and the desktop dialog
//! (feature `desktop`). Prompts are blocking calls run off the async runtime. Every word the
//! user reads lives here: [`i18n`] (kk, ru, en), notifications in [`notify`]. Must not sign,
//! open stores or decide anything the service decides.

#[cfg(feature = "desktop")]
pub mod desktop;
pub mod i18n;
pub mod notify;
#[cfg(feature = "test-support")]
pub mod script;
pub mod tty;
