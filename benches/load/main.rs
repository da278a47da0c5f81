//! The load tool, full mode (issue 15): every figure of docs/performance.md's load table,
//! measured through the daemon's WebSocket API with the scripted prompter, beside its
//! reference measured in the same run on the same machine, with the ratio and the target.
//!
//! `cargo bench --features test-support --bench load` (release build; a few minutes). The
//! references need `openssl`, the GOST engine with its headers (`libssl-dev`,
//! `libengine-gost-openssl`), `xmlsec1` and `gcc`; a missing one prints `n/a`.
//! `LOAD_SCALE=0.1` shrinks every size (a quick look, not the published figures);
//! `LOAD_ONLY=large` runs one part (`batches`, `large`, `singles`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod driver;

use driver::{Client, Daemon};

/// Rounds of each figure, each a reference run and ours, the best of each kept.
const ROUNDS: usize = 3;

fn scale(n: usize) -> usize {
    let factor: f64 = std::env::var("LOAD_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((n as f64 * factor).round() as usize).max(1)
}

/// Whether `LOAD_ONLY` (a comma-separated list of `batches`, `large`, `singles`; all when
/// unset) asks for this part, e.g. to profile one of them.
fn wanted(part: &str) -> bool {
    std::env::var("LOAD_ONLY").map_or(true, |only| only.split(',').any(|p| p.trim() == part))
}

fn main() {
    let exe = Path::new(env!("CARGO_BIN_EXE_qoltanba"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let work = tempfile::tempdir().expect("temp dir");
    let refs = References::measure(work.path());
    let mut rows = Vec::new();

    if wanted("batches") {
        let batch = scale(1000);
        let (gost_rate, rsa_rate, xml_ms, gost_ref, rsa_ref) = runtime.block_on(async {
            let documents = driver::small_documents(batch);
            // Rounds alternate the reference and our batches, the best of each kept: the
            // machine's disturbances fall on both alike.
            let (mut gost, mut gost_ref) = (0.0f64, None);
            let answers = vec![driver::approve(driver::GOST_KEY); ROUNDS * 2];
            let daemon = Daemon::start(exe, driver::GOST_NOW, &answers, "");
            let mut client = Client::connect(&daemon.url).await;
            for _ in 0..ROUNDS {
                gost_ref = best_of(gost_ref.into_iter().chain(refs.gost_engine_once()));
                gost = gost.max(best_rate(&mut client, &documents, 2).await);
            }
            drop(daemon);
            let (mut rsa, mut rsa_ref) = (0.0f64, None);
            let answers = vec![driver::approve(driver::RSA_KEY); ROUNDS * 2 + 2];
            let daemon = Daemon::start(exe, driver::RSA_NOW, &answers, "");
            let mut client = Client::connect(&daemon.url).await;
            for _ in 0..ROUNDS {
                rsa_ref = best_of(rsa_ref.into_iter().chain(openssl_rsa_once()));
                rsa = rsa.max(best_rate(&mut client, &documents, 2).await);
            }
            let xml_docs = scale(500);
            let (elapsed, _) = driver::xml_batch(&mut client, xml_docs).await;
            let (again, _) = driver::xml_batch(&mut client, xml_docs).await;
            let xml = elapsed.min(again).as_secs_f64() * 1000.0 / xml_docs as f64;
            (gost, rsa, xml, gost_ref, rsa_ref)
        });
        let target = 0.7 * cores as f64;
        let batch_row = |figure: &str, rate: f64, reference: Option<f64>, what: &str| {
            row(
                &format!("{figure} CMS batch, {batch} small documents"),
                format!("{rate:.0} docs/s"),
                reference.map(|r| format!("{what}, one core: {r:.0} sign/s")),
                reference.map(|r| rate / r),
                format!("≥ {target:.1} (0.7 × {cores} cores)"),
                reference.map(|r| rate / r >= target),
            )
        };
        rows.push(batch_row("GOST-2015-512", gost_rate, gost_ref, "GOST engine"));
        rows.push(batch_row("RSA-2048", rsa_rate, rsa_ref, "`openssl speed rsa2048`"));
        rows.push(row(
            "XML batch, per document (RSA)",
            format!("{xml_ms:.2} ms"),
            refs.xmlsec_ms.map(|r| format!("`xmlsec1 --sign`, a process per document: {r:.1} ms")),
            refs.xmlsec_ms.map(|r| r / xml_ms),
            "≥ 50x faster".into(),
            refs.xmlsec_ms.map(|r| r / xml_ms >= 50.0),
        ));
    }

    if wanted("large") {
        let megabytes = scale(100);
        let document: Vec<u8> = (0..megabytes << 20).map(|i| (i % 251) as u8).collect();
        let (size, elapsed, growth, digest) = runtime.block_on(async {
            let answers = vec![driver::approve(driver::RSA_KEY); ROUNDS + 1];
            let daemon = Daemon::start(exe, driver::RSA_NOW, &answers, "");
            let mut client = Client::connect(&daemon.url).await;
            // A first signature, as a running daemon has made: it asks the revocation status
            // once (the figure is the document's, not that first query's).
            driver::cms_batch(&mut client, &driver::small_documents(1)).await;
            let (mut size, mut best, mut growth, mut digest) = (0, Duration::MAX, 0.0f64, None);
            for _ in 0..ROUNDS {
                let reference = References::digest_of(work.path(), &document);
                digest = match (digest, reference) {
                    (Some(a), Some(b)) => Some(f64::min(a, b)),
                    (a, b) => a.or(b),
                };
                let before = daemon.status_kib("VmRSS");
                daemon.reset_peak();
                let (bytes, elapsed, _) = driver::large_document(&mut client, &document).await;
                let grown = daemon.status_kib("VmHWM").saturating_sub(before) as f64 * 1024.0;
                (size, best, growth) = (bytes, best.min(elapsed), growth.max(grown));
            }
            (size, best, growth, digest)
        });
        rows.push(row(
            &format!(
                "{megabytes} MB detached CMS (`decode:true`, {} MB message), request to reply",
                size >> 20
            ),
            format!("{:.2} s", elapsed.as_secs_f64()),
            digest
                .map(|d| format!("`base64 -d | openssl dgst -sha256` of the same data: {d:.2} s")),
            digest.map(|d| elapsed.as_secs_f64() / d),
            "≤ 2x the reference's time".into(),
            digest.map(|d| elapsed.as_secs_f64() / d <= 2.0),
        ));
        let growth_ratio = growth / size as f64;
        rows.push(row(
            "peak RSS growth for that document",
            format!("{:.0} MiB ({growth_ratio:.2}x the message)", growth / 1048576.0),
            Some(format!("the message: {} MiB", size >> 20)),
            Some(growth_ratio),
            "≤ 1.5x the message".into(),
            Some(growth_ratio <= 1.5),
        ));
    }

    if wanted("singles") {
        let singles = scale(200);
        let connections = scale(1000);
        let (p50, p99, held, startup, idle) = runtime.block_on(async {
            let answers = vec![driver::approve(driver::RSA_KEY); singles];
            let config = format!("[server]\nmax_connections = {}\n", connections + 16);
            let daemon = Daemon::start(exe, driver::RSA_NOW, &answers, &config);
            let startup = daemon.startup;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let idle = daemon.status_kib("VmRSS");
            let mut client = Client::connect(&daemon.url).await;
            let times = driver::single_signs(&mut client, singles).await;
            let held = driver::held_connections(&daemon.url, connections, 3).await;
            (driver::quantile(&times, 0.5), driver::quantile(&times, 0.99), held, startup, idle)
        });
        rows.push(row(
            &format!("single-sign latency, {singles} requests one at a time (p50 / p99)"),
            format!("{:.1} / {:.1} ms", ms(p50), ms(p99)),
            None,
            None,
            "—".into(),
            None,
        ));
        rows.push(row(
            &format!("{connections} simultaneous connections, 3 heartbeat rounds"),
            format!("{held} held, every heartbeat answered"),
            None,
            None,
            "all held".into(),
            Some(held == connections),
        ));
        rows.push(row(
            "startup to accepting connections; idle RSS",
            format!("{:.0} ms; {:.1} MiB", ms(startup), idle as f64 / 1024.0),
            None,
            None,
            "< 200 ms; < 30 MiB".into(),
            Some(ms(startup) < 200.0 && idle < 30 * 1024),
        ));
    }

    println!("Machine: {cores} cores, {}", machine());
    println!();
    println!("| figure | Qoltanba | reference (same run) | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for line in rows {
        println!("{line}");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(
    figure: &str,
    ours: String,
    reference: Option<String>,
    ratio: Option<f64>,
    target: String,
    met: Option<bool>,
) -> String {
    let reference = reference.unwrap_or_else(|| "—".into());
    let ratio = ratio.map_or("—".into(), |r| format!("{r:.2}"));
    let met = match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "—",
    };
    format!("| {figure} | {ours} | {reference} | {ratio} | {target} | {met} |")
}

/// Best docs/s of `runs` batches of `documents`.
async fn best_rate(client: &mut Client, documents: &[Vec<u8>], runs: usize) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let (elapsed, _) = driver::cms_batch(client, documents).await;
        best = best.min(elapsed);
    }
    documents.len() as f64 / best.as_secs_f64()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']));
    model.unwrap_or("unknown CPU").to_string()
}

/// The references, measured on this machine in this run.
struct References {
    /// The GOST engine's speed program, built for this run.
    gost_program: Option<std::path::PathBuf>,
    xmlsec_ms: Option<f64>,
}

impl References {
    fn measure(work: &Path) -> Self {
        if !wanted("batches") {
            return Self { gost_program: None, xmlsec_ms: None };
        }
        Self { gost_program: build_gost_engine(work), xmlsec_ms: xmlsec(work) }
    }

    /// Sign/s of Debian's GOST engine, GOST-2012-512, one core, over one second
    /// (benches/gost_engine_speed.c).
    fn gost_engine_once(&self) -> Option<f64> {
        let out = Command::new(self.gost_program.as_ref()?).arg("1").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().find_map(|l| l.strip_prefix("gost2012_512 sign ")?.trim().parse().ok())
    }

    /// Seconds of `base64 -d | openssl dgst -sha256` over the base64 of `document`.
    fn digest_of(work: &Path, document: &[u8]) -> Option<f64> {
        let file = work.join("document.b64");
        std::fs::write(&file, driver::b64(document)).ok()?;
        let started = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg("base64 -d \"$1\" | openssl dgst -sha256 >/dev/null")
            .arg("sh")
            .arg(&file)
            .status()
            .ok()?;
        status.success().then(|| started.elapsed().as_secs_f64())
    }
}

/// Builds the GOST engine's speed program (benches/gost_engine_speed.c).
fn build_gost_engine(work: &Path) -> Option<std::path::PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gost_engine_speed.c");
    let program = work.join("gost_speed");
    let built = Command::new("gcc")
        .args(["-O2", "-Wno-deprecated-declarations", "-o"])
        .arg(&program)
        .arg(source)
        .arg("-lcrypto")
        .output()
        .ok()?;
    if !built.status.success() {
        eprintln!("load: the GOST engine reference did not build (libssl-dev?)");
        return None;
    }
    Some(program)
}

/// The best of several rates: on a shared virtual machine the best is the least disturbed,
/// for the references as for us.
fn best_of(rates: impl Iterator<Item = f64>) -> Option<f64> {
    rates.fold(None, |best, rate| Some(best.map_or(rate, |b: f64| b.max(rate))))
}

/// Sign/s of `openssl speed rsa2048`, one core, over one second.
fn openssl_rsa_once() -> Option<f64> {
    let out = Command::new("openssl").args(["speed", "-seconds", "1", "rsa2048"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text.lines().find(|l| l.starts_with("rsa 2048 bits"))?;
    line.split_whitespace().nth(5)?.parse().ok()
}

/// Milliseconds per document of `xmlsec1 --sign`, one process per document, with the RSA key.
fn xmlsec(work: &Path) -> Option<f64> {
    let key = work.join("key.pem");
    let p12 = driver::fixture(driver::RSA_KEY);
    let exported = Command::new("openssl")
        .args(["pkcs12", "-legacy", "-nocerts", "-nodes", "-passin"])
        .arg(format!("pass:{}", driver::PASSWORD))
        .arg("-in")
        .arg(&p12)
        .arg("-out")
        .arg(&key)
        .output()
        .ok()?;
    if !exported.status.success() {
        return None;
    }
    let template = work.join("template.xml");
    std::fs::write(&template, TEMPLATE).ok()?;
    let runs = 20;
    let started = Instant::now();
    for _ in 0..runs {
        let out = Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem"])
            .arg(&key)
            .arg("--output")
            .arg(work.join("signed.xml"))
            .arg(&template)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!("load: xmlsec1: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
    }
    Some(started.elapsed().as_secs_f64() * 1000.0 / runs as f64)
}

/// An invoice with an empty enveloped RSA-SHA256 signature for xmlsec1 to fill.
const TEMPLATE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<invoice><number>1</number><sum>100.00</sum><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature></invoice>
"#;
