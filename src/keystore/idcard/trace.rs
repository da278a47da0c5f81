//! Field evidence: a [`Recorder`] around a reader keeps every command and answer exchanged with
//! a card, and [`Recorder::text`] writes them one per line for the user to send us, with the
//! PIN's bytes (the data of VERIFY) replaced by `XX`. The unknowns of `kz-idcard.md` §7 are
//! settled by such a trace of a real card.
//! Must not: keep or write a PIN byte.

use super::{IdCardError, Transmit};

/// One exchange: the command (PIN bytes already blanked), and the answer or the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Exchange {
    command: Vec<Option<u8>>,
    answer: Result<Vec<u8>, String>,
}

/// A reader that records what passes through it.
pub struct Recorder<T> {
    inner: T,
    exchanges: Vec<Exchange>,
}

impl<T: Transmit> Recorder<T> {
    /// Records the exchanges with `inner`.
    pub fn new(inner: T) -> Self {
        Self { inner, exchanges: Vec::new() }
    }

    /// The trace: `> command` and `< answer` lines in hex (`XX` for a PIN byte), `! failure`
    /// when the reader failed.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for exchange in &self.exchanges {
            let command: Vec<String> = exchange
                .command
                .iter()
                .map(|b| b.map_or_else(|| "XX".to_string(), |b| format!("{b:02X}")))
                .collect();
            out.push_str(&format!("> {}\n", command.join(" ")));
            match &exchange.answer {
                Ok(answer) => out.push_str(&format!("< {}\n", hex(answer))),
                Err(failure) => out.push_str(&format!("! {failure}\n")),
            }
        }
        out
    }
}

impl<T: Transmit> Transmit for Recorder<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, IdCardError> {
        let answer = self.inner.transmit(command);
        self.exchanges.push(Exchange {
            command: blanked(command),
            answer: answer.clone().map_err(|e| e.to_string()),
        });
        answer
    }
}

/// `command` with the data of a VERIFY (the PIN block) blanked.
fn blanked(command: &[u8]) -> Vec<Option<u8>> {
    let is_verify = command.get(1) == Some(&0x20);
    command.iter().enumerate().map(|(i, &b)| (!(is_verify && i >= 5)).then_some(b)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::Recorder;
    use crate::crypto::HashAlgorithm;
    use crate::keystore::idcard::sim::{SimCard, SimConfig};
    use crate::keystore::idcard::IdCard;

    #[test]
    fn a_trace_holds_every_exchange_but_no_pin_byte() {
        let sim = SimCard::new(SimConfig { slots: 2, ..SimConfig::default() });
        let mut card = IdCard::open(Recorder::new(sim)).expect("card");
        let _ = card.verify("9876");
        card.verify("1234").expect("PIN");
        let keys = card.keys().expect("keys");
        let digest = HashAlgorithm::Sha256.digest(b"trace");
        card.sign(keys[0].slot, HashAlgorithm::Sha256, &digest).expect("signs");
        let text = card.reader().text();
        assert!(text.starts_with("> 00 A4 00 0C 02 3F 00\n< 90 00\n"), "{text}");
        assert!(text.contains("> 00 20 00 02 08 XX XX XX XX XX XX XX XX\n< 63 C2\n"), "{text}");
        assert!(text.contains("> 00 22 41 A4 09 95 01 40 84 01 87 80 01 02\n< 90 00\n"));
        for pin in ["31 32 33 34", "39 38 37 36"] {
            assert!(!text.contains(pin), "the PIN {pin} is in the trace");
        }
        let lines = text.lines().count();
        assert_eq!(lines % 2, 0, "a command and its answer each");
    }
}
