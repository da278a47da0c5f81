//! Hot paths of signing, measured with criterion: GOST-512 and GOST-256 sign and verify,
//! RSA-2048 sign, Streebog-512 and SHA-256 throughput. `benches/compare.sh` runs this next to
//! the GOST engine's own speed on the same machine and prints the ratios for
//! `docs/performance.md`.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qoltanba::crypto::gost::{GostCurve, GostPublicKey};
use qoltanba::crypto::{HashAlgorithm, Signer};
use qoltanba::keystore::{KeyStore, Pkcs12Store};
use secrecy::SecretString;

fn fixture_signer(path: &str) -> Box<dyn Signer> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/nca").join(path);
    let bytes = std::fs::read(&file).expect("fixture p12");
    let store = Pkcs12Store::open(&bytes, &SecretString::from("Qwerty12")).expect("opens");
    let alias = store.keys().first().expect("a key").alias.clone();
    store.signer(&alias).expect("signer")
}

fn gost(c: &mut Criterion) {
    let signer = fixture_signer("gost2015-2026/individual/valid/individual_valid.p12");
    let digest = HashAlgorithm::Streebog512.digest(b"benchmark");
    let signature = signer.sign_digest(&digest).expect("signs");
    let public = GostPublicKey::from_certificate(signer.certificate()).expect("public key");
    c.bench_function("gost2012_512 sign", |b| b.iter(|| signer.sign_digest(&digest)));
    c.bench_function("gost2012_512 verify", |b| {
        b.iter(|| public.curve.verify_digest(&public.xy, &digest, &signature))
    });

    // No NCA GOST-256 certificate exists: a fixed scalar on TC26-256-A.
    let d = [0x11u8; 32];
    let digest = HashAlgorithm::Streebog256.digest(b"benchmark");
    let curve = GostCurve::Tc26_256A;
    let xy = curve.public_key(&d).expect("public key");
    let signature = curve.sign_digest(&d, &digest).expect("signs");
    c.bench_function("gost2012_256 sign", |b| b.iter(|| curve.sign_digest(&d, &digest)));
    c.bench_function("gost2012_256 verify", |b| {
        b.iter(|| curve.verify_digest(&xy, &digest, &signature))
    });
}

fn rsa(c: &mut Criterion) {
    let signer = fixture_signer(
        "legacy-2020/personal/active/RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9.p12",
    );
    let digest = HashAlgorithm::Sha256.digest(b"benchmark");
    c.bench_function("rsa2048 sign", |b| b.iter(|| signer.sign_digest(&digest)));
}

fn hashes(c: &mut Criterion) {
    let data = vec![0x5au8; 1 << 20];
    let mut group = c.benchmark_group("hash 1 MiB");
    group.throughput(Throughput::Bytes(data.len() as u64));
    for hash in [HashAlgorithm::Streebog512, HashAlgorithm::Sha256, HashAlgorithm::Gost34311] {
        group.bench_with_input(BenchmarkId::from_parameter(format!("{hash:?}")), &data, |b, d| {
            b.iter(|| hash.digest(d))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = gost, rsa, hashes
}
criterion_main!(benches);
