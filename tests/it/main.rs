//! Integration tests: the whole daemon on port 0 with the scripted prompter and the real NCA
//! fixtures, driven as a browser would; every signature is checked by openssl or xmlsec1.

mod ca;
mod cli;
mod desktop;
mod gost;
mod harness;
mod limits;
mod prompts;
mod protocol;
mod security;
mod signing;
mod softhsm;
mod tokens;
mod windows;
