//! The certificates the card keeps itself, looked for with SELECT and READ BINARY only (never a
//! write): first the standard PKCS#15 structure (EF.DIR `2F00` naming the PKCS#15 application,
//! else DF `5015`; its EF.ODF `5031`; the certificate directories it lists; the files those
//! name), then the [`CANDIDATES`] of the IAS card family. Where the Kazakh card keeps its
//! certificates is not public (`kz-idcard.md` §2), so every place is a guess until a trace of a
//! real card shows it, and this table is the one place to correct. A file counts only when it
//! holds a whole X.509 certificate; the caller matches certificates to keys by modulus, so a
//! wrong guess can only find nothing, never the wrong key.

use super::apdu;
use super::card::{find, length, tag_length, tlvs};
use super::{IdCard, IdCardError, Transmit};
use crate::crypto::Certificate;

/// A path of file identifiers from the master file.
pub type FilePath = Vec<[u8; 2]>;

/// Files tried when the card has no PKCS#15 structure, each a path from the master file.
/// Unconfirmed on a Kazakh card: the IAS-family Portuguese card's certificate files
/// (`5F00/EF08`, `EF09`), and the key directory `0101`'s `C000`–`C003`.
pub const CANDIDATES: [&[[u8; 2]]; 6] = [
    &[[0x3F, 0x00], [0x5F, 0x00], [0xEF, 0x08]],
    &[[0x3F, 0x00], [0x5F, 0x00], [0xEF, 0x09]],
    &[[0x3F, 0x00], [0x01, 0x01], [0xC0, 0x00]],
    &[[0x3F, 0x00], [0x01, 0x01], [0xC0, 0x01]],
    &[[0x3F, 0x00], [0x01, 0x01], [0xC0, 0x02]],
    &[[0x3F, 0x00], [0x01, 0x01], [0xC0, 0x03]],
];

/// The PKCS#15 application identifier (ISO 7816-15, `A0 00 00 00 63 "PKCS-15"`).
const PKCS15_AID: [u8; 12] =
    [0xA0, 0x00, 0x00, 0x00, 0x63, 0x50, 0x4B, 0x43, 0x53, 0x2D, 0x31, 0x35];
/// The usual PKCS#15 directory, when EF.DIR does not name one.
const PKCS15_DF: [[u8; 2]; 2] = [[0x3F, 0x00], [0x50, 0x15]];
/// EF.DIR and EF.ODF.
const EF_DIR: [u8; 2] = [0x2F, 0x00];
const EF_ODF: [u8; 2] = [0x50, 0x31];
/// The longest file read (a certificate is 1–2 KB; a directory a few hundred bytes).
const MAX_FILE: usize = 16 * 1024;
/// The most certificate files followed from one card's directories.
const MAX_CERTIFICATES: usize = 16;

/// A certificate found on the card, with the file it is in.
#[derive(Debug, Clone)]
pub struct CardCertificate {
    /// The file, from the master file.
    pub path: FilePath,
    /// The certificate.
    pub certificate: Certificate,
}

impl<T: Transmit> IdCard<T> {
    /// The certificates the card holds: PKCS#15 first, then the [`CANDIDATES`] when PKCS#15
    /// gave none. The key directory is selected again afterwards, ready to sign. Only a card
    /// that went away is an error; a file that is absent or refused is passed over.
    pub fn certificates(&mut self) -> Result<Vec<CardCertificate>, IdCardError> {
        let mut found: Vec<CardCertificate> = Vec::new();
        let mut paths = self.pkcs15_certificate_paths()?;
        if paths.is_empty() {
            paths = CANDIDATES.iter().map(|p| p.to_vec()).collect();
        }
        for path in paths.into_iter().take(MAX_CERTIFICATES) {
            let Some(bytes) = self.read_file(&path, true)? else { continue };
            let Ok(certificate) = Certificate::from_der(&bytes) else {
                tracing::debug!(file = hex_path(&path), "an ID card file that is no certificate");
                continue;
            };
            if !found.iter().any(|f| f.certificate.der() == certificate.der()) {
                found.push(CardCertificate { path, certificate });
            }
        }
        self.select()?;
        Ok(found)
    }

    /// The certificate files the card's PKCS#15 directories name (none without PKCS#15).
    fn pkcs15_certificate_paths(&mut self) -> Result<Vec<FilePath>, IdCardError> {
        let application = match self.read_file(&[[0x3F, 0x00], EF_DIR], false)? {
            Some(dir) => pkcs15_application(&dir).unwrap_or_else(|| PKCS15_DF.to_vec()),
            None => PKCS15_DF.to_vec(),
        };
        let odf_path = [application.as_slice(), &[EF_ODF]].concat();
        let Some(odf) = self.read_file(&odf_path, false)? else { return Ok(Vec::new()) };
        let mut paths = Vec::new();
        // ODF: certificates [4], trustedCertificates [5], usefulCertificates [6] → Path.
        for (tag, value) in tlvs(&odf).filter(|(t, _)| matches!(t, [0xA4..=0xA6])) {
            let Some(cdf_path) = path_in(value).map(|p| resolve(&application, p)) else {
                tracing::debug!(tag = tag[0], "a PKCS#15 directory entry without a path");
                continue;
            };
            let Some(cdf) = self.read_file(&cdf_path, false)? else { continue };
            // CDF: CertificateObjects; [1] typeAttributes → X509CertificateAttributes → value.
            for (_, object) in tlvs(&cdf).filter(|(t, _)| matches!(t, [0x30])) {
                let attributes = find(object, &[0xA1]).and_then(|a| find(a, &[0x30]));
                if let Some(path) = attributes.and_then(path_in) {
                    paths.push(resolve(&application, path));
                }
            }
        }
        Ok(paths)
    }

    /// The contents of the transparent file at `path`, read to its end, or with `element` to
    /// the end of the DER element it starts with (a certificate in a larger file); `None` when
    /// the card has no such file or will not show it.
    pub fn read_file(
        &mut self,
        path: &[[u8; 2]],
        element: bool,
    ) -> Result<Option<Vec<u8>>, IdCardError> {
        for file in path {
            if !self.reader.send(&apdu::select(*file))?.ok() {
                return Ok(None);
            }
        }
        let mut data: Vec<u8> = Vec::new();
        while data.len() < MAX_FILE {
            let [high, low] = (data.len() as u16).to_be_bytes();
            let response = self.reader.exchange(&[0x00, 0xB0, high, low, 0x00])?;
            let part = response.data.len();
            match response.sw {
                0x9000 | 0x6282 => data.extend_from_slice(&response.data),
                // Past the end, after some bytes: the file is read.
                0x6B00 if !data.is_empty() => break,
                sw => {
                    tracing::debug!(file = hex_path(path), sw, "an ID card file not read");
                    return Ok(None);
                }
            }
            let total = der_length(&data).filter(|&total| element && data.len() >= total);
            if let Some(total) = total {
                data.truncate(total);
                break;
            }
            if part == 0 || response.sw == 0x6282 || part < 256 {
                break;
            }
        }
        Ok((!data.is_empty()).then_some(data))
    }
}

/// The path of the PKCS#15 application in EF.DIR: the template `61` whose AID `4F` is
/// PKCS#15's, its path `51`.
fn pkcs15_application(dir: &[u8]) -> Option<FilePath> {
    tlvs(dir)
        .filter(|(tag, _)| matches!(tag, [0x61]))
        .find(|(_, template)| find(template, &[0x4F]) == Some(&PKCS15_AID[..]))
        .and_then(|(_, template)| find(template, &[0x51]))
        .map(|path| resolve(&[], path))
}

/// The file path inside a PKCS#15 `Path` (`30 { 04 path … }`).
fn path_in(value: &[u8]) -> Option<&[u8]> {
    find(value, &[0x30]).and_then(|path| find(path, &[0x04]))
}

/// A PKCS#15 path as file identifiers from the master file: absolute when it starts with
/// `3F00`, else relative to `application`.
fn resolve(application: &[[u8; 2]], path: &[u8]) -> FilePath {
    let files = path.chunks_exact(2).map(|c| [c[0], c[1]]);
    match path.starts_with(&[0x3F, 0x00]) {
        true => files.collect(),
        false => application.iter().copied().chain(files).collect(),
    }
}

/// The whole length of the DER element `data` starts with, once its header is read.
fn der_length(data: &[u8]) -> Option<usize> {
    let tag_len = tag_length(data)?;
    let (len, header) = length(data.get(tag_len..)?)?;
    Some(tag_len + header + len)
}

/// A path as the log shows it, e.g. `3F00/5015/4401`.
pub fn hex_path(path: &[[u8; 2]]) -> String {
    path.iter().map(|f| format!("{:02X}{:02X}", f[0], f[1])).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::{pkcs15_application, resolve};
    use crate::keystore::idcard::card::tlvs;

    #[test]
    fn paths_resolve_and_directories_parse() {
        let app = vec![[0x3F, 0x00], [0x50, 0x15]];
        assert_eq!(resolve(&app, &[0x44, 0x01]), vec![[0x3F, 0x00], [0x50, 0x15], [0x44, 0x01]]);
        assert_eq!(resolve(&app, &[0x3F, 0x00, 0x01, 0x01]), vec![[0x3F, 0x00], [0x01, 0x01]]);
        let dir = [
            &[0x61, 0x16, 0x4F, 0x0C][..],
            &super::PKCS15_AID,
            &[0x51, 0x04, 0x3F, 0x00, 0x50, 0x16, 0x50, 0x02, 0x49, 0x44, 0x00, 0x00],
        ]
        .concat();
        assert_eq!(pkcs15_application(&dir), Some(vec![[0x3F, 0x00], [0x50, 0x16]]));
        assert_eq!(pkcs15_application(&[0x61, 0x02, 0x4F, 0x00]), None);
        // A truncated TLV ends the walk instead of reading past the data.
        assert_eq!(tlvs(&[0x30, 0x05, 0x01]).count(), 0);
    }
}
