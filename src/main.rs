//! Composition root: parse the command line, read config, build stores, UI and service, run.

fn main() {}
