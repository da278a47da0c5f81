//! A simulated Kazakh ID card for the tests: the state machine of `kz-idcard.md` §1.1 and §2
//! (SELECT MF/DF, VERIFY with its retry counter and blocking, GET DATA of the public keys as
//! 271-byte objects through `61 xx` and GET RESPONSE, MSE:SET, INTERNAL AUTHENTICATE with the
//! card's own PKCS#1 v1.5 padding). Its RSA keys are real (libcrypto), so its signatures verify
//! with openssl. Variants: 2 or 4 key slots, SHA-256 refused, removal after a given command.
//! It records every command it receives, for tests that check what was sent. [`plug`] puts it
//! into a virtual reader of pcscd (vsmartcard's vpcd), so the real PC/SC stack carries the same
//! card. Test support only: never built into a release.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};

use super::apdu::Transmit;
use super::IdCardError;

/// How the simulated card behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The PIN's digits as the card stores them (the 8-byte block).
    pub pin_block: [u8; 8],
    /// Tries before the PIN blocks.
    pub tries: u8,
    /// How many key slots the card has (2 on older cards, 4 on newer).
    pub slots: usize,
    /// Whether a SHA-256 DigestInfo is accepted.
    pub sha256: bool,
    /// The card is pulled out when this many commands have been received.
    pub removed_after: Option<usize>,
    /// Slots holding a GOST-2015-512 key (an EC point, tag `86`) instead of an RSA one.
    pub gost_slots: Vec<u8>,
    /// Where the card keeps a certificate for each RSA key.
    pub certificates: Kept,
}

/// Where the simulated card keeps its certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Nowhere (the user imports them).
    Nowhere,
    /// In a PKCS#15 structure: EF.DIR naming `3F00/5015`, its ODF, a CDF, one file per key.
    Pkcs15,
    /// In the candidate files of the key directory, `3F00/0101/C000`…
    Candidates,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            pin_block: *b"12340000",
            tries: 3,
            slots: 4,
            sha256: true,
            removed_after: None,
            gost_slots: Vec::new(),
            certificates: Kept::Nowhere,
        }
    }
}

/// A file path from the master file.
type Path = Vec<[u8; 2]>;

const MF: [u8; 2] = [0x3F, 0x00];

/// The simulated card.
pub struct SimCard {
    config: SimConfig,
    keys: Vec<Rsa<Private>>,
    tries: u8,
    verified: bool,
    /// The selected directory, from the master file.
    directory: Path,
    /// The selected elementary file.
    file: Option<Path>,
    files: std::collections::BTreeMap<Path, Vec<u8>>,
    environment: Option<u8>,
    pending: Vec<u8>,
    /// Every command received, in order.
    pub received: Vec<Vec<u8>>,
}

impl SimCard {
    /// A card with fresh RSA-2048 keys.
    pub fn new(config: SimConfig) -> Self {
        let keys = (0..config.slots).filter_map(|_| Rsa::generate(2048).ok()).collect();
        Self::with_keys(config, keys)
    }

    /// A card holding `keys` (in slots 0x87, 0x88, …).
    pub fn with_keys(config: SimConfig, keys: Vec<Rsa<Private>>) -> Self {
        let tries = config.tries;
        let mut card = Self {
            config,
            keys,
            tries,
            verified: false,
            directory: vec![MF],
            file: None,
            files: Default::default(),
            environment: None,
            pending: Vec::new(),
            received: Vec::new(),
        };
        card.files = card.file_system();
        card
    }

    /// The card's files: its certificates where [`SimConfig::certificates`] says.
    fn file_system(&self) -> std::collections::BTreeMap<Path, Vec<u8>> {
        let mut files = std::collections::BTreeMap::new();
        let slots = (0..self.keys.len() as u8).map(|i| 0x87 + i);
        let certificates: Vec<(u8, Vec<u8>)> = slots
            .filter(|slot| !self.config.gost_slots.contains(slot))
            .filter_map(|slot| Some((slot, self.certificate(slot)?.der().to_vec())))
            .collect();
        let app = [MF, [0x50, 0x15]];
        match self.config.certificates {
            Kept::Nowhere => {}
            Kept::Candidates => {
                for (slot, der) in certificates {
                    files.insert(vec![MF, [0x01, 0x01], [0xC0, slot - 0x87]], der);
                }
            }
            Kept::Pkcs15 => {
                // EF.DIR: the PKCS#15 application at 3F00/5015.
                let aid = [0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35];
                let template = [tlv(&[0x4F], &aid), tlv(&[0x51], &[0x3F, 0x00, 0x50, 0x15])];
                files.insert(vec![MF, [0x2F, 0x00]], tlv(&[0x61], &template.concat()));
                // ODF: certificates [4] at the relative path 4404.
                let odf = tlv(&[0xA4], &tlv(&[0x30], &tlv(&[0x04], &[0x44, 0x04])));
                files.insert(vec![MF, app[1], [0x50, 0x31]], odf);
                let mut cdf = Vec::new();
                for (n, (slot, mut der)) in certificates.into_iter().enumerate() {
                    let id = [0x43, slot - 0x86];
                    // The first by an absolute path, in a file longer than the certificate.
                    let path = match n {
                        0 => {
                            der.extend_from_slice(&[0xFF; 64]);
                            [&[0x3F, 0x00, 0x50, 0x15][..], &id].concat()
                        }
                        _ => id.to_vec(),
                    };
                    let common = tlv(&[0x30], &tlv(&[0x0C], format!("key {slot:02X}").as_bytes()));
                    let class = tlv(&[0x30], &tlv(&[0x04], &[slot]));
                    let value = tlv(&[0xA1], &tlv(&[0x30], &tlv(&[0x30], &tlv(&[0x04], &path))));
                    cdf.extend(tlv(&[0x30], &[common, class, value].concat()));
                    files.insert(vec![MF, app[1], id], der);
                }
                files.insert(vec![MF, app[1], [0x44, 0x04]], cdf);
            }
        }
        files
    }

    /// The key in `slot` (0x87..).
    pub fn key(&self, slot: u8) -> Option<&Rsa<Private>> {
        self.keys.get(usize::from(slot.checked_sub(0x87)?))
    }

    /// A self-signed certificate for the key in `slot`, as the NCA would issue one for it
    /// (subject, serial and validity are the simulator's own).
    pub fn certificate(&self, slot: u8) -> Option<crate::crypto::Certificate> {
        let subject = [("CN", "ТЕСТОВ ТЕСТ"), ("serialNumber", "IIN123456789012")];
        crate::crypto::rsa::self_signed(self.key(slot)?, &subject, u32::from(slot))
    }

    /// Tries the PIN has left.
    pub fn tries_left(&self) -> u8 {
        self.tries
    }

    /// The card's ATR: the 2022 Kazakh ID card's.
    pub fn atr(&self) -> &'static [u8] {
        super::pcsc::KNOWN_ATRS[0]
    }

    /// Power cycled or reset: the PIN's verification, the selection and the environment are
    /// forgotten; the retry counter is not.
    pub fn reset(&mut self) {
        self.verified = false;
        self.directory = vec![MF];
        self.file = None;
        self.environment = None;
        self.pending.clear();
    }

    fn answer(&mut self, command: &[u8]) -> Vec<u8> {
        let (ins, p1, p2) = (command[1], command[2], command[3]);
        let data = command.get(5..5 + usize::from(*command.get(4).unwrap_or(&0))).unwrap_or(&[]);
        match (ins, p1, p2) {
            (0xA4, 0x00, 0x0C) => self.select(data),
            (0x20, 0x00, 0x02) if command.len() == 4 => self.pin_status(),
            (0x20, 0x00, 0x02) => self.verify(data),
            (0xCB, 0x3F, 0xFF) => self.public_key(data),
            (0x22, 0x41, 0xA4) => self.environment(data),
            (0x88, 0x02, 0x00) => self.authenticate(data),
            (0xC0, 0x00, 0x00) => self.get_response(command.get(4).copied().unwrap_or(0)),
            (0xB0, high, low) => self.read_binary(high, low, command.get(4).copied().unwrap_or(0)),
            _ => sw(0x6D00),
        }
    }

    fn in_key_df(&self) -> bool {
        self.directory == [MF, [0x01, 0x01]]
    }

    /// SELECT by file identifier: the master file, a child of the selected directory (or of
    /// the master file), or an elementary file in the selected directory.
    fn select(&mut self, id: &[u8]) -> Vec<u8> {
        let [high, low] = id else { return sw(0x6A87) };
        let id = [*high, *low];
        let is_directory = |path: &Path| {
            path == &[MF, [0x01, 0x01]]
                || self.files.keys().any(|f| f.len() > path.len() && f.starts_with(path))
        };
        let child = [self.directory.as_slice(), &[id]].concat();
        if id == MF {
            self.directory = vec![MF];
        } else if is_directory(&child) {
            self.directory = child;
        } else if self.files.contains_key(&child) {
            self.file = Some(child);
            return sw(0x9000);
        } else if is_directory(&vec![MF, id]) {
            self.directory = vec![MF, id];
        } else {
            return sw(0x6A82);
        }
        self.file = None;
        sw(0x9000)
    }

    fn read_binary(&mut self, high: u8, low: u8, le: u8) -> Vec<u8> {
        let Some(content) = self.file.as_ref().and_then(|f| self.files.get(f)) else {
            return sw(0x6986);
        };
        let offset = usize::from(u16::from_be_bytes([high & 0x7F, low]));
        if offset >= content.len() {
            return sw(0x6B00);
        }
        let want = if le == 0 { 256 } else { usize::from(le) };
        let take = want.min(content.len() - offset);
        let mut out = content[offset..offset + take].to_vec();
        out.extend_from_slice(&sw(if take < want { 0x6282 } else { 0x9000 }));
        out
    }

    fn pin_status(&self) -> Vec<u8> {
        match (self.verified, self.tries) {
            (true, _) => sw(0x9000),
            (false, 0) => sw(0x6983),
            (false, tries) => sw(0x63C0 | u16::from(tries)),
        }
    }

    fn verify(&mut self, block: &[u8]) -> Vec<u8> {
        if self.tries == 0 {
            return sw(0x6983);
        }
        if block == self.config.pin_block {
            self.tries = self.config.tries;
            self.verified = true;
            return sw(0x9000);
        }
        self.tries -= 1;
        self.verified = false;
        match self.tries {
            0 => sw(0x6983),
            tries => sw(0x63C0 | u16::from(tries)),
        }
    }

    fn public_key(&mut self, header_list: &[u8]) -> Vec<u8> {
        let slot = header_list.get(4).copied().unwrap_or(0) | 0x80;
        if self.config.gost_slots.contains(&slot) {
            // FF A0 0k | 7F 49 | 86 (an uncompressed 512-bit point).
            let point = tlv(&[0x86], &[&[0x04][..], &[0x5A; 128]].concat());
            let object = tlv(&[0xFF, 0xA0, slot & 0x0F], &tlv(&[0x7F, 0x49], &point));
            return self.reply_later(object);
        }
        let Some(modulus) = self.key(slot).map(|k| k.n().to_vec()) else {
            return sw(0x6A82);
        };
        // FF A0 0k 82 01 09 | 7F 49 82 01 04 | 81 82 01 00 | modulus (kz-idcard.md §1.1).
        let mut object = vec![0xFF, 0xA0, slot & 0x0F, 0x82, 0x01, 0x09];
        object.extend_from_slice(&[0x7F, 0x49, 0x82, 0x01, 0x04, 0x81, 0x82, 0x01, 0x00]);
        object.extend_from_slice(&modulus);
        self.reply_later(object)
    }

    fn environment(&mut self, template: &[u8]) -> Vec<u8> {
        let slot = match template {
            [0x95, 0x01, 0x40, 0x84, 0x01, slot, 0x80, 0x01, 0x02] => *slot,
            _ => return sw(0x6A80),
        };
        // Like the real card, the environment is set even for an absent key.
        self.environment = Some(slot);
        sw(0x9000)
    }

    fn authenticate(&mut self, digest_info: &[u8]) -> Vec<u8> {
        if !self.verified {
            return sw(0x6982);
        }
        if !self.in_key_df() {
            return sw(0x6A82);
        }
        if digest_info.len() == 51 && !self.config.sha256 {
            return sw(0x6A80);
        }
        let Some(key) = self.environment.and_then(|slot| self.key(slot)) else {
            return sw(0x6A82);
        };
        let mut signature = vec![0; key.size() as usize];
        match key.private_encrypt(digest_info, &mut signature, Padding::PKCS1) {
            Ok(len) => {
                signature.truncate(len);
                self.reply_later(signature)
            }
            Err(_) => sw(0x6F00),
        }
    }

    /// Keeps `data` for GET RESPONSE and says how much is waiting (`61 00`: 256 or more).
    fn reply_later(&mut self, data: Vec<u8>) -> Vec<u8> {
        let waiting = data.len().min(256) as u16 & 0xFF;
        self.pending = data;
        sw(0x6100 | waiting)
    }

    fn get_response(&mut self, le: u8) -> Vec<u8> {
        let want = if le == 0 { 256 } else { usize::from(le) };
        let take = want.min(self.pending.len());
        let mut out: Vec<u8> = self.pending.drain(..take).collect();
        let rest = self.pending.len();
        let status = match rest {
            0 => 0x9000,
            rest => 0x6100 | (rest.min(256) as u16 & 0xFF),
        };
        out.extend_from_slice(&status.to_be_bytes());
        out
    }
}

impl Transmit for SimCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, IdCardError> {
        if self.config.removed_after.is_some_and(|n| self.received.len() >= n) {
            return Err(IdCardError::Removed("the card was pulled out".into()));
        }
        self.received.push(command.to_vec());
        if command.len() < 4 {
            return Ok(sw(0x6700));
        }
        Ok(self.answer(command))
    }
}

/// A BER-TLV with a short or two-byte length.
fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let length = match value.len() {
        n @ 0..=0x7F => vec![n as u8],
        n @ 0x80..=0xFF => vec![0x81, n as u8],
        n => [&[0x82][..], &(n as u16).to_be_bytes()].concat(),
    };
    [tag, &length, value].concat()
}

fn sw(status: u16) -> Vec<u8> {
    status.to_be_bytes().to_vec()
}

/// A simulated card in a vpcd reader, served on its own thread.
pub struct Plugged {
    stream: TcpStream,
    thread: Option<JoinHandle<SimCard>>,
}

impl Plugged {
    /// Pulls the card out of the reader and returns it (with the commands it received).
    pub fn pull_out(mut self) -> Option<SimCard> {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.thread.take()?.join().ok()
    }
}

impl Drop for Plugged {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Puts `card` into the vpcd reader listening on `127.0.0.1:port` (35963 is "Virtual PCD 00
/// 00"), waiting up to 10 s for pcscd to listen. vpcd's protocol (`kz-idcard.md` §6.2): frames
/// of a big-endian u16 length and a payload; a 1-byte payload is power off (0), on (1), reset
/// (2) or a request for the ATR (4); any other is a command APDU, answered with its response.
pub fn plug(card: SimCard, port: u16) -> std::io::Result<Plugged> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let serving = stream.try_clone()?;
    let thread = std::thread::spawn(move || serve(card, serving));
    Ok(Plugged { stream, thread: Some(thread) })
}

fn serve(mut card: SimCard, mut stream: TcpStream) -> SimCard {
    while let Ok(payload) = read_frame(&mut stream) {
        let reply = match payload.as_slice() {
            [0x04] => card.atr().to_vec(),
            [0x00..=0x02] => {
                card.reset();
                continue;
            }
            command => match card.transmit(command) {
                Ok(response) => response,
                // Pulled out: the socket closes, which vpcd reports as a removed card.
                Err(_) => break,
            },
        };
        if write_frame(&mut stream, &reply).is_err() {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    card
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut length = [0; 2];
    stream.read_exact(&mut length)?;
    let mut payload = vec![0; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    stream.write_all(&[&length.to_be_bytes()[..], payload].concat())
}

/// One simulated reader for the store's tests, holding a card until [`SimReaders::pull_out`].
/// A connection is exclusive, as the PC/SC one is, and the card is reset when it closes.
#[derive(Clone)]
pub struct SimReaders {
    card: std::sync::Arc<std::sync::Mutex<Option<SimCard>>>,
    busy: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SimReaders {
    /// The reader name it shows.
    pub const READER: &'static str = "Simulated Reader 0";

    /// A reader holding `card`.
    pub fn new(card: SimCard) -> Self {
        Self {
            card: std::sync::Arc::new(std::sync::Mutex::new(Some(card))),
            busy: Default::default(),
        }
    }

    /// Runs `f` on the card (to read what it received), if it is in.
    pub fn with_card<R>(&self, f: impl FnOnce(&SimCard) -> R) -> Option<R> {
        self.card.lock().ok()?.as_ref().map(f)
    }

    /// Takes the card out.
    pub fn pull_out(&self) -> Option<SimCard> {
        self.card.lock().ok()?.take()
    }
}

impl super::store::Readers for SimReaders {
    fn cards(&self) -> Result<Vec<super::pcsc::Present>, IdCardError> {
        let atr = self.with_card(|card| card.atr().to_vec());
        let present = |atr| super::pcsc::Present { reader: Self::READER.into(), atr };
        Ok(atr.map(present).into_iter().collect())
    }

    fn connect(&self, reader: &str) -> Result<Box<dyn Transmit + Send>, IdCardError> {
        use std::sync::atomic::Ordering;
        if reader != Self::READER || self.with_card(|_| ()).is_none() {
            return Err(IdCardError::Removed(format!("no card in {reader}")));
        }
        if self.busy.swap(true, Ordering::SeqCst) {
            return Err(IdCardError::InUse);
        }
        Ok(Box::new(Connection(self.clone())))
    }
}

/// An exclusive connection to the card of a [`SimReaders`].
struct Connection(SimReaders);

impl Transmit for Connection {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, IdCardError> {
        let mut slot = self.0.card.lock().map_err(|_| IdCardError::Removed("poisoned".into()))?;
        let card = slot.as_mut().ok_or_else(|| IdCardError::Removed("pulled out".into()))?;
        card.transmit(command)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.0.card.lock() {
            if let Some(card) = slot.as_mut() {
                card.reset();
            }
        }
        self.0.busy.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
