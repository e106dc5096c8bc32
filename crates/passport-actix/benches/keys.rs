//! Token verification and signing per algorithm: HS256 (the default) against the asymmetric
//! keys EdDSA (Ed25519), ES256 (P-256) and RS256 (RSA 3072, as `keygen` makes them), through
//! the same `JwtVerifier::verify` / `TokenIssuer::issue` a guarded request and a login use
//! (asymmetric verification includes the `kid` look-up).
//!
//! ```text
//! cargo bench -p passport-actix --bench keys -- --warm-up-time 1 --measurement-time 3 --noplot
//! cargo bench -p passport-actix --bench keys -- --test            # CI smoke: each once, no timing
//! ```
//!
//! Nothing here asserts a duration; the figures are recorded in BENCHMARKS.md.

#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use passport_actix::jwt::{Algorithm, JwtConfig, SigningKey};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"a benchmark secret of at least thirty-two bytes";
const SUBJECT: &str = "5b0e7c1e-3f7a-4c53-9a57-5d1c4f1d9a3e";

/// The server's custom claims.
#[derive(Clone, Serialize, Deserialize)]
struct Email {
    email: String,
}

fn configs() -> Vec<(&'static str, JwtConfig)> {
    let mut configs = vec![(
        "HS256",
        JwtConfig::hmac(SECRET, "passport-server", "passport-api").expect("a 32-byte secret"),
    )];
    for (name, alg) in [
        ("EdDSA", Algorithm::EdDSA),
        ("ES256", Algorithm::ES256),
        ("RS256", Algorithm::RS256),
    ] {
        let key = SigningKey::generate(alg).expect("key generation");
        // Two older keys in the set, as during a rotation: selection by kid is part of the cost.
        let older = [
            SigningKey::generate(alg).expect("key generation"),
            SigningKey::generate(alg).expect("key generation"),
        ];
        let config = JwtConfig::asymmetric(key, "passport-server", "passport-api")
            .verify_keys(older.iter().map(|k| k.verifying_key().clone()))
            .expect("distinct kids");
        configs.push((name, config));
    }
    configs
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for (name, config) in configs() {
        let claims = Email {
            email: "ada@example.com".to_owned(),
        };
        let token = config
            .issuer()
            .issue(SUBJECT, claims)
            .expect("signing")
            .token;
        let verifier = config.verifier();
        assert!(verifier.verify::<Email>(&token).is_ok());
        group.bench_with_input(BenchmarkId::from_parameter(name), &token, |b, token| {
            b.iter(|| verifier.verify::<Email>(black_box(token)))
        });
    }
    group.finish();
}

fn sign(c: &mut Criterion) {
    let mut group = c.benchmark_group("sign");
    for (name, config) in configs() {
        let issuer = config.issuer();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                issuer.issue(
                    black_box(SUBJECT),
                    Email {
                        email: "ada@example.com".to_owned(),
                    },
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verify, sign);
criterion_main!(benches);
