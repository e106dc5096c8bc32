//! Settings read from `.env` (if present) and the environment, with defaults and clear errors.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::keys::KeySettings;

/// The shortest `JWT_SECRET` accepted, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = passport_actix::jwt::MIN_HMAC_SECRET_BYTES;

/// Where the server runs: development is forgiving about secrets, production is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local development (the default).
    Development,
    /// Production (`APP_ENV=production`).
    Production,
}

/// The JWT signing secret: configured, or generated for this process in development.
#[derive(Clone)]
pub enum JwtSecret {
    /// From `JWT_SECRET`.
    Configured(SecretString),
    /// Random, for this process only (development without `JWT_SECRET`).
    Ephemeral(SecretString),
}

impl JwtSecret {
    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        match self {
            Self::Configured(s) | Self::Ephemeral(s) => s.expose_secret().as_bytes(),
        }
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configured(_) => f.write_str("JwtSecret::Configured([redacted])"),
            Self::Ephemeral(_) => f.write_str("JwtSecret::Ephemeral([redacted])"),
        }
    }
}

/// The password hashing scheme of new hashes (`PASSWORD_HASHER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordScheme {
    /// bcrypt (the default).
    Bcrypt,
    /// argon2id.
    Argon2id,
}

/// Every setting of the server. See `.env.example` for their meaning and defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `OIDC_PROVIDERS` and each provider's `OIDC_<NAME>_*` (see [`crate::oidc`]).
    pub oidc: crate::oidc::OidcSettings,
    /// `APP_ENV`.
    pub environment: Environment,
    /// `BIND_ADDR`.
    pub bind_addr: SocketAddr,
    /// `WORKERS` (0: one per core).
    pub workers: usize,
    /// `DATABASE_URL`, or the embedded SQLite file (secret: it may hold a password).
    pub database_url: SecretString,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `DATABASE_TIMEOUT_SECONDS`: the longest a request waits for the database.
    pub database_timeout: Duration,
    /// `JWT_SECRET` (HS256 only).
    pub jwt_secret: JwtSecret,
    /// `JWT_ALGORITHM`, `JWT_PRIVATE_KEY_FILE`, `JWT_VERIFY_KEY_FILES`.
    pub jwt_keys: KeySettings,
    /// `JWT_TTL_SECONDS`.
    pub jwt_ttl: Duration,
    /// `JWT_ISSUER`.
    pub jwt_issuer: String,
    /// `JWT_AUDIENCE`.
    pub jwt_audience: String,
    /// `JWT_LEEWAY_SECONDS`.
    pub jwt_leeway: Duration,
    /// `BCRYPT_COST`.
    pub bcrypt_cost: u32,
    /// `PASSWORD_HASHER`: the scheme new hashes use; hashes of the other are verified and
    /// upgraded at the next login.
    pub password_hasher: PasswordScheme,
    /// `ARGON2_MEMORY_KIB` and `ARGON2_ITERATIONS` (argon2id; OWASP defaults).
    pub argon2: passport_actix::local::Argon2idParams,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors_allowed_origins: Vec<String>,
    /// `LOGIN_MAX_FAILURES`.
    pub login_max_failures: u32,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`.
    pub login_failure_window: Duration,
    /// `RATE_LIMIT_PER_MINUTE`.
    pub rate_limit_per_minute: u32,
    /// `TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<IpNet>,
    /// `BENCH_ROUTES`: mount the `/bench/*` routes used by the load script.
    pub bench_routes: bool,
    /// `SESSION_TTL_SECONDS`: how long a session lives after its login.
    pub session_ttl: Duration,
    /// `REFRESH_REUSE_GRACE_SECONDS`: how long a used refresh token may be presented again
    /// without counting as reuse (0: never).
    pub refresh_reuse_grace: Duration,
    /// `SESSION_CACHE_CAPACITY`: live sessions remembered per instance.
    pub session_cache_capacity: usize,
    /// `DATABASE_LISTEN_URL`: a direct PostgreSQL connection for `LISTEN` (default:
    /// `DATABASE_URL`; set it when `DATABASE_URL` goes through a transaction pooler).
    pub database_listen_url: Option<SecretString>,
    /// `BODY_READ_TIMEOUT_SECONDS`: the longest a whole request body may take to arrive.
    pub body_read_timeout: Duration,
    /// `MAX_CONNECTIONS_PER_ADDRESS`: concurrent connections one client address may hold.
    pub max_connections_per_address: usize,
    /// `LISTEN_BACKLOG`: the listen socket's queue of connections not yet accepted.
    pub listen_backlog: u32,
    /// `JWT_MAX_LIFETIME_SECONDS`: the longest `exp - iat` a token accepted may claim.
    pub jwt_max_lifetime: Duration,
    /// `AUDIT_RETENTION_DAYS`: how long audit rows are kept (`None`: for ever, from `0`).
    pub audit_retention: Option<Duration>,
    /// `METRICS_ADDR`: where `GET /metrics` listens (`None`, the default: nowhere).
    pub metrics_addr: Option<SocketAddr>,
    /// `DOCS`: serve `GET /docs` (default: on in development, off with `APP_ENV=production`).
    pub docs: bool,
    /// `HASH_QUEUE_LIMIT`: logins and signups admitted to password hashing at once (running
    /// or waiting); more are answered `503 server_busy` with `Retry-After: 1` at once
    /// (0, the default: 64 per hashing thread, that is per core).
    pub hash_queue_limit: usize,
}

/// A setting that could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A variable holds a value that does not parse or is out of range.
    #[error("invalid {name}={value:?}: {expected}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value (never a secret's).
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A key setting cannot be used (missing, unreadable, wrong type or algorithm, exposed).
    #[error("invalid {name}: {message}")]
    Key {
        /// The variable.
        name: &'static str,
        /// What is wrong (never the key's bytes).
        message: String,
    },
    /// The `.env` file exists but cannot be read.
    #[error("cannot read .env: {0}")]
    DotEnv(String),
    /// `JWT_SECRET` is missing or short in production.
    #[error(
        "JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes when APP_ENV=production \
         (got {0}); generate one with: openssl rand -base64 48"
    )]
    ProductionSecret(String),
}

/// Loads `.env` from the working directory into the environment, if the file exists.
/// Variables already set in the environment win.
pub fn load_dotenv() -> Result<(), ConfigError> {
    match dotenvy::dotenv() {
        Ok(_) => Ok(()),
        Err(error) if error.not_found() => Ok(()),
        // A parse error's text quotes the line, which may hold a secret: never echo it.
        Err(dotenvy::Error::LineParse(..)) => {
            Err(ConfigError::DotEnv("a line is not NAME=value".to_owned()))
        }
        Err(error) => Err(ConfigError::DotEnv(error.to_string())),
    }
}

/// The embedded default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/passport.db";

impl Settings {
    /// Reads the environment (call [`load_dotenv`] first to take `.env` into account).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let environment = match get("APP_ENV").as_deref() {
            None | Some("development" | "dev" | "local" | "test") => Environment::Development,
            Some("production" | "prod") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "APP_ENV",
                    value: other.to_owned(),
                    expected: "development or production",
                });
            }
        };
        let jwt_keys = KeySettings::from_lookup(&get, environment)?;
        let jwt_secret = match get("JWT_SECRET") {
            Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => {
                JwtSecret::Configured(SecretString::from(secret))
            }
            given => {
                let problem = match given {
                    Some(s) => format!("{} bytes", s.len()),
                    None => "unset".to_owned(),
                };
                if environment == Environment::Production && jwt_keys.is_hmac() {
                    return Err(ConfigError::ProductionSecret(problem));
                }
                JwtSecret::Ephemeral(random_secret())
            }
        };
        let bcrypt_cost = parse(&get, "BCRYPT_COST", 12u32, "an integer from 4 to 31")?;
        let min_cost = if environment == Environment::Production {
            10
        } else {
            4
        };
        if !(min_cost..=31).contains(&bcrypt_cost) {
            return Err(ConfigError::Invalid {
                name: "BCRYPT_COST",
                value: bcrypt_cost.to_string(),
                expected: "an integer from 4 to 31 (at least 10 in production)",
            });
        }
        let jwt_ttl = seconds(&get, "JWT_TTL_SECONDS", 3600)?;
        let jwt_max_lifetime = seconds(&get, "JWT_MAX_LIFETIME_SECONDS", 86_400)?;
        if jwt_max_lifetime < jwt_ttl {
            return Err(ConfigError::Invalid {
                name: "JWT_MAX_LIFETIME_SECONDS",
                value: jwt_max_lifetime.as_secs().to_string(),
                expected: "at least JWT_TTL_SECONDS (the server's own tokens must be accepted)",
            });
        }
        Ok(Self {
            oidc: crate::oidc::OidcSettings::from_lookup(&get)?,
            environment,
            bind_addr: parse(
                &get,
                "BIND_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
                "host:port, e.g. 127.0.0.1:3000",
            )?,
            workers: parse(
                &get,
                "WORKERS",
                0usize,
                "a number of worker threads (0: one per core)",
            )?,
            database_url: SecretString::from(
                get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            ),
            database_max_connections: positive(&get, "DATABASE_MAX_CONNECTIONS", 10)?,
            database_timeout: seconds(&get, "DATABASE_TIMEOUT_SECONDS", 5)?,
            jwt_secret,
            jwt_keys,
            jwt_ttl,
            jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "passport-server".to_owned()),
            jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "passport-api".to_owned()),
            jwt_leeway: Duration::from_secs(parse(
                &get,
                "JWT_LEEWAY_SECONDS",
                30u64,
                "a number of seconds",
            )?),
            bcrypt_cost,
            password_hasher: match get("PASSWORD_HASHER").as_deref() {
                None | Some("bcrypt") => PasswordScheme::Bcrypt,
                Some("argon2id" | "argon2") => PasswordScheme::Argon2id,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        name: "PASSWORD_HASHER",
                        value: other.to_owned(),
                        expected: "bcrypt or argon2id",
                    });
                }
            },
            argon2: passport_actix::local::Argon2idParams {
                memory_kib: parse(
                    &get,
                    "ARGON2_MEMORY_KIB",
                    passport_actix::local::OWASP_ARGON2ID.memory_kib,
                    "KiB of memory per hash, at least 8",
                )?
                .max(8),
                iterations: positive(
                    &get,
                    "ARGON2_ITERATIONS",
                    passport_actix::local::OWASP_ARGON2ID.iterations,
                )?,
                parallelism: 1,
            },
            cors_allowed_origins: list(get("CORS_ALLOWED_ORIGINS"))
                .into_iter()
                .map(|origin| parse_origin(&origin))
                .collect::<Result<_, _>>()?,
            login_max_failures: positive(&get, "LOGIN_MAX_FAILURES", 10)?,
            login_failure_window: seconds(&get, "LOGIN_FAILURE_WINDOW_SECONDS", 900)?,
            rate_limit_per_minute: positive(&get, "RATE_LIMIT_PER_MINUTE", 60)?,
            trusted_proxies: list(get("TRUSTED_PROXIES"))
                .into_iter()
                .map(|entry| parse_net(&entry))
                .collect::<Result<_, _>>()?,
            bench_routes: match parse(&get, "BENCH_ROUTES", false, "true or false")? {
                true if environment == Environment::Production => {
                    return Err(ConfigError::Invalid {
                        name: "BENCH_ROUTES",
                        value: "true".to_owned(),
                        expected: "false with APP_ENV=production (the bench routes skip auth)",
                    });
                }
                enabled => enabled,
            },
            session_ttl: seconds(&get, "SESSION_TTL_SECONDS", 2_592_000)?,
            refresh_reuse_grace: Duration::from_secs(parse(
                &get,
                "REFRESH_REUSE_GRACE_SECONDS",
                10u64,
                "a number of seconds (0 or more)",
            )?),
            session_cache_capacity: parse(
                &get,
                "SESSION_CACHE_CAPACITY",
                50_000usize,
                "a number of sessions",
            )?
            .max(1),
            database_listen_url: get("DATABASE_LISTEN_URL").map(SecretString::from),
            body_read_timeout: seconds(&get, "BODY_READ_TIMEOUT_SECONDS", 5)?,
            max_connections_per_address: positive(&get, "MAX_CONNECTIONS_PER_ADDRESS", 256)?
                as usize,
            listen_backlog: positive(&get, "LISTEN_BACKLOG", 1024)?,
            jwt_max_lifetime,
            audit_retention: match parse(
                &get,
                "AUDIT_RETENTION_DAYS",
                90u32,
                "a number of days (0: keep for ever)",
            )? {
                0 => None,
                days => Some(Duration::from_secs(u64::from(days) * 86_400)),
            },
            docs: parse(
                &get,
                "DOCS",
                environment != Environment::Production,
                "true or false",
            )?,
            metrics_addr: match get("METRICS_ADDR") {
                None => None,
                Some(value) => Some(value.parse().map_err(|_| ConfigError::Invalid {
                    name: "METRICS_ADDR",
                    value,
                    expected: "host:port, e.g. 127.0.0.1:9100 (unset: no metrics listener)",
                })?),
            },
            hash_queue_limit: parse(
                &get,
                "HASH_QUEUE_LIMIT",
                0usize,
                "a number of logins (0: 64 per core)",
            )?,
        })
    }

    /// `"postgres"` or `"sqlite"`, from the `DATABASE_URL` scheme (for logs).
    pub fn database_kind(&self) -> &'static str {
        if self.database_url.expose_secret().starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Whether tokens are signed with an HMAC secret generated for this process.
    pub fn uses_ephemeral_secret(&self) -> bool {
        self.jwt_keys.is_hmac() && matches!(self.jwt_secret, JwtSecret::Ephemeral(_))
    }
}

fn random_secret() -> SecretString {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    SecretString::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn parse<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    expected: &'static str,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
            name,
            value,
            expected,
        }),
    }
}

fn positive(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<u32, ConfigError> {
    let value = parse(get, name, default, "a positive integer")?;
    if value == 0 {
        return Err(ConfigError::Invalid {
            name,
            value: "0".into(),
            expected: "a positive integer",
        });
    }
    Ok(value)
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
) -> Result<Duration, ConfigError> {
    positive(get, name, default).map(|s| Duration::from_secs(u64::from(s)))
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// An origin is exactly `scheme://host[:port]`: no wildcard, no path, not even a trailing `/`.
fn parse_origin(origin: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name: "CORS_ALLOWED_ORIGINS",
        value: origin.to_owned(),
        expected: "comma-separated origins like https://app.example.com (no *, no path)",
    };
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    if host.is_empty() || host.contains(['/', '*', '?', '#', '@', ' ']) {
        return Err(invalid());
    }
    Ok(origin.to_owned())
}

fn parse_net(entry: &str) -> Result<IpNet, ConfigError> {
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            name: "TRUSTED_PROXIES",
            value: entry.to_owned(),
            expected: "comma-separated IP addresses or CIDRs, e.g. 10.0.0.0/8,127.0.0.1",
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.database_url.expose_secret(), DEFAULT_DATABASE_URL);
        assert_eq!(s.login_max_failures, 10);
        assert_eq!(s.login_failure_window, Duration::from_secs(900));
        assert_eq!(s.rate_limit_per_minute, 60);
        assert_eq!(s.jwt_ttl, Duration::from_secs(3600));
        assert!(s.trusted_proxies.is_empty());
        assert!(s.uses_ephemeral_secret());
        assert_eq!(s.session_ttl, Duration::from_secs(2_592_000));
        assert_eq!(s.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(s.password_hasher, PasswordScheme::Bcrypt);
        assert!(settings(&[("PASSWORD_HASHER", "md5")]).is_err());
        assert_eq!(s.body_read_timeout, Duration::from_secs(5));
        assert_eq!(s.max_connections_per_address, 256);
        assert_eq!(s.listen_backlog, 1024);
        assert_eq!(s.jwt_max_lifetime, Duration::from_secs(86_400));
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        assert!(matches!(
            settings(&[("APP_ENV", "production")]),
            Err(ConfigError::ProductionSecret(_))
        ));
        let err = settings(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]).unwrap_err();
        assert!(
            !err.to_string().contains("short"),
            "the secret itself is never echoed"
        );
        let long = "x".repeat(32);
        assert!(
            !settings(&[("APP_ENV", "production"), ("JWT_SECRET", &long)])
                .unwrap()
                .uses_ephemeral_secret()
        );
    }

    #[test]
    fn development_replaces_a_short_secret_with_a_random_one() {
        let a = settings(&[("JWT_SECRET", "short")]).unwrap();
        let b = settings(&[("JWT_SECRET", "short")]).unwrap();
        assert!(a.uses_ephemeral_secret());
        assert_ne!(a.jwt_secret.expose(), b.jwt_secret.expose());
        assert!(a.jwt_secret.expose().len() >= MIN_JWT_SECRET_BYTES);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = settings(&[("BCRYPT_COST", "abc")]).unwrap_err().to_string();
        assert!(err.contains("BCRYPT_COST"), "{err}");
        assert!(settings(&[("BCRYPT_COST", "3")]).is_err());
        assert!(
            settings(&[
                ("APP_ENV", "production"),
                ("JWT_SECRET", &"x".repeat(40)),
                ("BCRYPT_COST", "8")
            ])
            .is_err()
        );
        assert!(settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, nonsense")]).is_err());
        assert!(settings(&[("LOGIN_MAX_FAILURES", "0")]).is_err());
        assert!(settings(&[("BIND_ADDR", "localhost")]).is_err());
        let err = settings(&[
            ("JWT_TTL_SECONDS", "7200"),
            ("JWT_MAX_LIFETIME_SECONDS", "3600"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("JWT_MAX_LIFETIME_SECONDS"), "{err}");
    }

    #[test]
    fn cors_origins_must_be_exact_origins() {
        let s = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        )])
        .unwrap();
        assert_eq!(s.cors_allowed_origins.len(), 2);
        for bad in [
            "*",
            "https://app.example.com/",
            "app.example.com",
            "https://*.example.com",
            "ftp://x.y",
        ] {
            let err = settings(&[("CORS_ALLOWED_ORIGINS", bad)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("CORS_ALLOWED_ORIGINS"), "{bad}: {err}");
        }
    }

    #[test]
    fn bench_routes_are_refused_in_production() {
        let secret = "x".repeat(40);
        let production = [
            ("APP_ENV", "production"),
            ("JWT_SECRET", secret.as_str()),
            ("BENCH_ROUTES", "true"),
        ];
        assert!(settings(&production).is_err());
        assert!(settings(&[("BENCH_ROUTES", "true")]).unwrap().bench_routes);
    }

    #[test]
    fn debug_output_hides_the_database_url() {
        let s = settings(&[("DATABASE_URL", "postgres://u:hunter2@db/x")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_cidrs() {
        let s = settings(&[("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
    }
}
