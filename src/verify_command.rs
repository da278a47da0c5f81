//! `qoltanba verify FILE [--content DETACHED] [--ca CA]… [--json] [--offline]`: verifies a CMS
//! (attached, detached, co-signed, time-stamped) or signed XML and prints, per signer, the
//! subject, the signing time, the time-stamp, whether the certificate chains to a trusted CA
//! (the CAs of `[trust]` and `--ca`) and whether it is revoked (OCSP then CRL, unless
//! `--offline`). Exits 0 only when every signature holds and every signer is trusted and not
//! revoked.

use std::path::{Path, PathBuf};

use qoltanba::cli::Format;
use qoltanba::config::Settings;
use qoltanba::platform::clock::Clock;
use qoltanba::service::verify::{self, ChainReport, Report, RevocationReport};

use super::Failure;

/// What `qoltanba verify` was given.
pub struct Request<'a> {
    /// The format, when given (else guessed: XML starts with `<`).
    pub format: Option<Format>,
    /// The signature file.
    pub input: &'a Path,
    /// The content of a detached CMS.
    pub content: Option<&'a Path>,
    /// Extra trusted CA files.
    pub cas: &'a [PathBuf],
    /// Print the report as JSON.
    pub json: bool,
    /// Do not ask OCSP responders or fetch CRLs.
    pub offline: bool,
}

/// Runs the command.
pub fn run(settings: &Settings, request: &Request<'_>) -> Result<(), Failure> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let bytes = read(request.input)?;
    let mut trust_settings = settings.trust.clone();
    trust_settings.extra_ca.extend(request.cas.iter().cloned());
    let trust = qoltanba::daemon::trust_store(&trust_settings).map_err(|e| e.to_string())?;
    let checker = (!request.offline && settings.revocation.check)
        .then(|| qoltanba::daemon::revocation_checker(settings, None));
    let judges = verify::Judges {
        trust: &trust,
        revocation: checker.as_ref(),
        now: Clock::for_process().now(),
    };
    let report = match request.format.unwrap_or_else(|| guess(&bytes)) {
        Format::Cms => {
            let der = der_from_text_or_der(bytes)?;
            let detached = request.content.map(read).transpose()?;
            verify::cms(&der, detached.as_deref(), &judges)
        }
        Format::Xml => {
            let text = String::from_utf8(bytes).map_err(|_| "the XML file is not UTF-8")?;
            verify::xml(&text, &judges)
        }
    }
    .map_err(|e| e.to_string())?;
    match request.json {
        true => println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?),
        false => print_report(&report),
    }
    match report.valid {
        true => Ok(()),
        false => Err("not every signer is valid: see the chain and revocation lines".into()),
    }
}

/// XML when the first non-blank byte is `<`, else CMS.
fn guess(bytes: &[u8]) -> Format {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => Format::Xml,
        _ => Format::Cms,
    }
}

fn print_report(report: &Report) {
    for signer in &report.signers {
        println!("OK: signed by {}", signer.subject);
        println!("    serial:       {}", signer.serial);
        if let Some(time) = &signer.signing_time {
            println!("    signing time: {time}");
        }
        if let Some(stamp) = &signer.time_stamp {
            let trusted = if stamp.tsa_trusted { "" } else { " — TSA NOT TRUSTED" };
            println!(
                "    time-stamp:   {} by {} (policy {}){trusted}",
                stamp.time, stamp.tsa, stamp.policy
            );
        }
        match &signer.chain {
            ChainReport::Trusted { path } => {
                println!("    chain:        trusted: {}", path.join(" → "))
            }
            ChainReport::Untrusted { reason } => {
                println!("    chain:        NOT TRUSTED: {reason}")
            }
        }
        match &signer.revocation {
            RevocationReport::NotChecked => println!("    revocation:   not checked"),
            RevocationReport::Good { source } => {
                println!("    revocation:   not revoked ({source})")
            }
            RevocationReport::Revoked { at, reason } => {
                let reason = reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                println!("    revocation:   REVOKED on {at}{reason}");
            }
            RevocationReport::Unknown { why } => println!("    revocation:   unknown: {why}"),
        }
    }
    println!("{}", if report.valid { "VALID" } else { "NOT VALID" });
}

/// CMS as DER, or as base64 text with or without `-----BEGIN CMS-----` armour.
fn der_from_text_or_der(bytes: Vec<u8>) -> Result<Vec<u8>, Failure> {
    use base64::Engine as _;
    if bytes.first() == Some(&0x30) {
        return Ok(bytes);
    }
    let text =
        String::from_utf8(bytes).map_err(|_| "the CMS file is neither DER nor base64 text")?;
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| format!("the CMS file is not valid base64: {e}"))
}
