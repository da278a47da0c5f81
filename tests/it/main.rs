//! Integration tests: the whole daemon on port 0 with the scripted prompter and the real NCA
//! fixtures, driven as a browser would; every signature is checked by openssl or xmlsec1. A test
//! whose tool is missing skips visibly through [`skip::needs`] (the unit tests' own function).

mod browser;
mod ca;
mod cli;
mod desktop;
mod doctor;
mod gost;
mod harness;
mod idcard;
mod issuance;
mod limits;
mod load;
mod native;
mod prompts;
mod protocol;
mod revocation;
mod security;
mod signing;
#[path = "../../src/platform/skip.rs"]
mod skip;
mod softhsm;
mod tokens;
mod tsa;
mod windows;
