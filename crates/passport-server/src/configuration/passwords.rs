//! The password hashing section: `PASSWORD_HASHER`, `BCRYPT_COST`, `ARGON2_*`,
//! `HASH_QUEUE_LIMIT`.

use super::env::{ConfigError, Env, Environment};

/// The lowest `BCRYPT_COST` accepted with `APP_ENV=production`.
pub const MIN_PRODUCTION_BCRYPT_COST: u32 = 10;

/// The password hashing scheme of new hashes (`PASSWORD_HASHER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordScheme {
    /// bcrypt (the default).
    Bcrypt,
    /// argon2id.
    Argon2id,
}

/// Password hashing.
#[derive(Debug, Clone)]
pub struct PasswordSettings {
    /// `PASSWORD_HASHER`: the scheme new hashes use; hashes of the other are verified and
    /// upgraded at the next login.
    pub hasher: PasswordScheme,
    /// `BCRYPT_COST`.
    pub bcrypt_cost: u32,
    /// `ARGON2_MEMORY_KIB` and `ARGON2_ITERATIONS` (argon2id; OWASP defaults).
    pub argon2: passport_actix::local::Argon2idParams,
    /// `HASH_QUEUE_LIMIT`: logins and signups admitted to password hashing at once (running
    /// or waiting); more are answered `503 server_busy` with `Retry-After: 1` at once
    /// (0, the default: 64 per hashing thread, that is per core).
    pub hash_queue_limit: usize,
    /// `HASH_THREAD_NICE`: the niceness of the hashing threads, 0 (the workers' priority) to
    /// 19 (favouring guarded traffic); the default, 2, lets a login flood and guarded traffic
    /// each keep about half of a saturated core.
    pub hash_thread_nice: u8,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            hasher: PasswordScheme::Bcrypt,
            bcrypt_cost: 12,
            argon2: passport_actix::local::OWASP_ARGON2ID,
            hash_queue_limit: 0,
            hash_thread_nice: passport_actix::DEFAULT_HASHING_NICE,
        }
    }
}

impl PasswordSettings {
    /// Reads the section.
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            hasher: match env.get("PASSWORD_HASHER").as_deref() {
                None => default.hasher,
                Some("bcrypt") => PasswordScheme::Bcrypt,
                Some("argon2id" | "argon2") => PasswordScheme::Argon2id,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "PASSWORD_HASHER",
                        value: other.to_owned(),
                        expected: "bcrypt or argon2id",
                    });
                }
            },
            bcrypt_cost: env.parse(
                "BCRYPT_COST",
                default.bcrypt_cost,
                "an integer from 4 to 31",
            )?,
            argon2: passport_actix::local::Argon2idParams {
                memory_kib: env
                    .parse(
                        "ARGON2_MEMORY_KIB",
                        default.argon2.memory_kib,
                        "KiB of memory per hash, at least 8",
                    )?
                    .max(8),
                iterations: env.positive("ARGON2_ITERATIONS", default.argon2.iterations)?,
                parallelism: default.argon2.parallelism,
            },
            hash_queue_limit: env.parse(
                "HASH_QUEUE_LIMIT",
                default.hash_queue_limit,
                "a number of logins (0: 64 per core)",
            )?,
            hash_thread_nice: {
                let nice: u8 = env.parse(
                    "HASH_THREAD_NICE",
                    default.hash_thread_nice,
                    "a niceness from 0 (the workers' priority) to 19",
                )?;
                if nice > passport_actix::MAX_HASHING_NICE {
                    return Err(ConfigError::Invalid {
                        name: "HASH_THREAD_NICE",
                        value: nice.to_string(),
                        expected: "a niceness from 0 (the workers' priority) to 19",
                    });
                }
                nice
            },
        })
    }
}

impl PasswordSettings {
    /// The rules of this section: `BCRYPT_COST` from 4 to 31, at least
    /// [`MIN_PRODUCTION_BCRYPT_COST`] in production.
    pub fn problems(&self, environment: Environment) -> Option<String> {
        let min_cost = if environment == Environment::Production {
            MIN_PRODUCTION_BCRYPT_COST
        } else {
            4
        };
        let cost = self.bcrypt_cost;
        (!(min_cost..=31).contains(&cost)).then(|| {
            format!(
                "BCRYPT_COST={cost} must be an integer from 4 to 31 (at least \
                 {MIN_PRODUCTION_BCRYPT_COST} with APP_ENV=production)"
            )
        })
    }
}
