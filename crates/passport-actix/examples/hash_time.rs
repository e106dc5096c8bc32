//! Times bcrypt verification at a given cost with the library's own [`Bcrypt`] hasher, and
//! makes hashes for seeding benchmark databases. Used by `bench/load.sh`.
//!
//! ```text
//! cargo run --release -p passport-actix --example hash_time -- time 12 8
//!     cost=12 iterations=8 ms_per_verify=231.402 verifies_per_second_per_core=4.321
//! cargo run --release -p passport-actix --example hash_time -- hash 12 'bench-password-1'
//!     $2b$12$...
//! ```
//!
//! Run it pinned to the core the server gets (`taskset -c 0 …`) for a per-core figure.

use std::process::ExitCode;
use std::time::Instant;

use passport_actix::local::{Bcrypt, PasswordHasher};

const USAGE: &str = "usage: hash_time time <cost 4..=31> [iterations, default 8]\n       hash_time hash <cost 4..=31> <password>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cost) = args.get(1).and_then(|c| c.parse::<u32>().ok()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let bcrypt = match Bcrypt::new(cost) {
        Ok(bcrypt) => bcrypt,
        Err(error) => {
            eprintln!("hash_time: {error}");
            return ExitCode::from(2);
        }
    };
    match (args[0].as_str(), args.get(2)) {
        ("time", iterations) => {
            let Some(iterations) = iterations
                .map_or(Some(8), |n| n.parse::<u32>().ok())
                .filter(|n| *n > 0)
            else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            let password = b"bench-password-1";
            let hash = match bcrypt.hash(password) {
                Ok(hash) => hash,
                Err(error) => {
                    eprintln!("hash_time: {error}");
                    return ExitCode::from(1);
                }
            };
            // One untimed verification warms caches and the CPU frequency governor.
            let _ = bcrypt.verify(password, &hash);
            let started = Instant::now();
            for _ in 0..iterations {
                match bcrypt.verify(std::hint::black_box(password), &hash) {
                    Ok(true) => {}
                    other => {
                        eprintln!("hash_time: verification did not succeed: {other:?}");
                        return ExitCode::from(1);
                    }
                }
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
            println!(
                "cost={cost} iterations={iterations} ms_per_verify={ms:.3} verifies_per_second_per_core={:.3}",
                1000.0 / ms
            );
            ExitCode::SUCCESS
        }
        ("hash", Some(password)) => match bcrypt.hash(password.as_bytes()) {
            Ok(hash) => {
                println!("{}", hash.as_str());
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("hash_time: {error}");
                ExitCode::from(1)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
