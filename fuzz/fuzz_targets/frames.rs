//! Fuzz target `frames`: the bytes a page sends after the WebSocket handshake, through the
//! memory meter (`transport::meter::Metered`) as tungstenite would read them. Whatever the
//! frames declare, the meter must not panic, must end, must never pass on more than it read
//! plus rewritten headers, and must give every reserved byte back once the tickets are gone.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use qoltanba::transport::meter::{BudgetLimits, MemoryBudget, Metered};
use tokio::io::AsyncReadExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input between the bytes read with the head and the stream.
    let Some((&split, rest)) = data.split_first() else { return };
    let split = usize::from(split).min(rest.len());
    let (prefix, stream) = rest.split_at(split);
    let limits = BudgetLimits {
        total: 4096,
        untrusted_total: 2048,
        per_trusted_origin: 4096,
        per_untrusted_site: 1024,
    };
    let budget = MemoryBudget::new(limits);
    let account = budget.account("fuzz.example".into(), true);
    let (mut metered, tickets) = Metered::new(stream, prefix.to_vec(), account, 1500);
    let mut out = Vec::new();
    let _ = runtime().block_on(metered.read_to_end(&mut out));
    // Each frame header (at least 6 bytes in) is rewritten to at most 14 bytes out.
    assert!(out.len() <= rest.len() * 3, "{} bytes out of {}", out.len(), rest.len());
    drop(metered);
    while tickets.next().is_some() {}
    assert_eq!(budget.used(), 0, "every reservation is given back");
});
