//! Scripted prompter for tests (feature `test-support`): answers from a JSONL file.
