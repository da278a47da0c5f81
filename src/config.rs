//! Configuration: TOML file -> validated settings; the only reader of config files.
