//! Command line: clap subcommands (run, keys, sign, verify).
