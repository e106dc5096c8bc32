//! Settings read from `.env` (if present) and the environment: [`Settings`] composes one typed
//! section per part of the server.
//!
//! Each section reads its own variables through the leaf [`env`] ([`Env`], [`ConfigError`])
//! and lives with the part that uses it: the sections of the server's core in this folder
//! ([`server`], [`database`], [`sessions`], [`passwords`], [`rate_limits`], [`cors`]), the
//! others beside their feature ([`crate::keys`], [`crate::oidc::settings`],
//! [`crate::audit::settings`], [`crate::mfa::settings`], [`crate::mail::settings`],
//! [`crate::browser::settings`]). A section's `Default` is the one place its defaults are
//! written, and its `problems` lists the rules it breaks (the production rules among them).
//! [`Settings::validate`] gathers them all, so that every broken rule is listed at once.

pub mod cors;
pub mod database;
pub mod env;
pub mod passwords;
pub mod rate_limits;
pub mod server;
pub mod sessions;

use secrecy::ExposeSecret;

use crate::audit::settings::AuditSettings;
use crate::browser::settings::SessionCookieSettings;
use crate::keys::{JwtSecret, TokenSettings};
use crate::mail::settings::MailSettings;
use crate::mfa::settings::MfaSettings;
use crate::oidc::settings::OidcSettings;

pub use crate::keys::MIN_JWT_SECRET_BYTES;
pub use cors::CorsSettings;
pub use database::{DEFAULT_DATABASE_URL, DatabaseSettings, DatabaseUrl, PoolMode};
pub use env::{ConfigError, Env, Environment};
pub use passwords::{MIN_PRODUCTION_BCRYPT_COST, PasswordScheme, PasswordSettings};
pub use rate_limits::RateLimitSettings;
pub use server::ServerSettings;
pub use sessions::SessionSettings;

/// Every setting of the server, by section. See `.env.example` for their meaning.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `APP_ENV`.
    pub environment: Environment,
    /// The HTTP listener.
    pub server: ServerSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// Access tokens: signing keys, lifetimes, claims (see [`crate::keys`]).
    pub tokens: TokenSettings,
    /// Sessions and refresh tokens.
    pub sessions: SessionSettings,
    /// Password hashing.
    pub passwords: PasswordSettings,
    /// Per-address rate limits and the per-account login throttle.
    pub rate_limits: RateLimitSettings,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors: CorsSettings,
    /// `OIDC_PROVIDERS` and each provider's `OIDC_<NAME>_*` (see [`crate::oidc`]).
    pub oidc: OidcSettings,
    /// The audit trail.
    pub audit: AuditSettings,
    /// `MFA_ENCRYPTION_KEY`, `MFA_PREVIOUS_ENCRYPTION_KEYS`, `MFA_ISSUER` (see [`crate::mfa`]).
    pub mfa: MfaSettings,
    /// Mail: SMTP, links, `EMAIL_VERIFICATION` (see [`crate::mail::settings`]).
    pub mail: MailSettings,
    /// `SESSION_COOKIE_NAME`, `SESSION_COOKIE_SECURE` (see [`crate::browser`]).
    pub session_cookie: SessionCookieSettings,
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

impl Settings {
    /// Reads and validates the environment (call [`load_dotenv`] first to take `.env` into
    /// account).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests), then
    /// [`validate`](Self::validate)s them.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let get = |name: &str| env.get(name);
        let environment = Environment::read(&env)?;
        let server = ServerSettings::read(&env, environment)?;
        let mail = MailSettings::from_lookup(&get, environment, server.bind_addr.port())?;
        let mut settings = Self {
            environment,
            server,
            database: DatabaseSettings::read(&env)?,
            tokens: TokenSettings::read(&env)?,
            sessions: SessionSettings::read(&env)?,
            passwords: PasswordSettings::read(&env)?,
            rate_limits: RateLimitSettings::read(&env)?,
            cors: CorsSettings::read(&env)?,
            oidc: OidcSettings::from_lookup(&get)?,
            audit: AuditSettings::read(&env)?,
            mfa: MfaSettings::from_lookup(&get)?,
            mail,
            session_cookie: SessionCookieSettings::from_lookup(&get, environment)?,
        };
        // Without MFA_ENCRYPTION_KEY, TOTP secrets are sealed under a key derived from the
        // signing material (stable across restarts and instances), never a random one when
        // there is such material.
        if let JwtSecret::Configured(secret) = &settings.tokens.secret {
            settings
                .mfa
                .derive_key_from(secret.expose_secret().as_bytes());
        }
        if !settings.tokens.keys.is_hmac()
            && let Some(pem) = env
                .get("JWT_PRIVATE_KEY_FILE")
                .and_then(|path| std::fs::read(path).ok())
        {
            settings.mfa.derive_key_from(&pem);
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the rules that values which parse must still follow, the production rules
    /// among them: each section's own, in one list. The error lists every rule broken, one
    /// line each, naming its variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let environment = self.environment;
        // In the order the rules have always been listed.
        let mut problems = self.tokens.problems(environment);
        problems.extend(self.passwords.problems(environment));
        problems.extend(self.oidc.problems(environment));
        problems.extend(self.server.problems(environment));
        problems.extend(self.tokens.lifetime_problem());
        problems.extend(self.mfa.problems(environment == Environment::Production));
        problems.extend(self.mail.problems(environment));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Rules(problems))
        }
    }

    /// Whether tokens are signed with an HMAC secret generated for this process.
    pub fn uses_ephemeral_secret(&self) -> bool {
        self.tokens.uses_ephemeral_secret()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        // Production requires MFA_ENCRYPTION_KEY; these tests are about other variables.
        let mfa_key = "MFA_ENCRYPTION_KEY";
        Settings::from_lookup(|name| match (name, map.get(name)) {
            (_, Some(value)) => Some(value.clone()),
            (name, None) if name == mfa_key => Some("42".repeat(32)),
            _ => None,
        })
    }

    /// The problems `validate` lists for these variables (empty when they are valid).
    fn problems(vars: &[(&str, &str)]) -> Vec<String> {
        match settings(vars) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Rules(problems)) => problems,
            Err(other) => panic!("not a rule: {other}"),
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789";

    #[test]
    fn defaults_match_the_contract() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.server.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.database.url.kind(), "sqlite");
        assert!(s.database.url.location().ends_with("data/passport.db"));
        assert_eq!(s.rate_limits.login_max_failures, 10);
        assert_eq!(s.rate_limits.login_failure_window, Duration::from_secs(900));
        assert_eq!(s.rate_limits.per_minute, 60);
        assert_eq!(s.tokens.ttl, Duration::from_secs(3600));
        assert!(s.server.trusted_proxies.is_empty());
        assert!(s.uses_ephemeral_secret());
        assert_eq!(s.sessions.ttl, Duration::from_secs(2_592_000));
        assert_eq!(s.sessions.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(s.passwords.hasher, PasswordScheme::Bcrypt);
        assert!(settings(&[("PASSWORD_HASHER", "md5")]).is_err());
        assert_eq!(s.server.body_read_timeout, Duration::from_secs(5));
        assert_eq!(s.server.max_connections_per_address, 256);
        assert_eq!(s.server.listen_backlog, 1024);
        assert_eq!(s.tokens.max_lifetime, Duration::from_secs(86_400));
        assert_eq!(s.audit.retention, Some(Duration::from_secs(90 * 86_400)));
        assert!(s.server.docs);
        let production = settings(&[("APP_ENV", "production"), ("JWT_SECRET", SECRET)]).unwrap();
        assert!(
            !production.server.docs,
            "DOCS defaults to off in production"
        );
    }

    #[test]
    fn production_refuses_a_missing_or_short_secret() {
        let unset = problems(&[("APP_ENV", "production")]);
        assert_eq!(unset.len(), 1, "{unset:?}");
        assert!(unset[0].contains("JWT_SECRET") && unset[0].contains("unset"));
        let short = problems(&[("APP_ENV", "production"), ("JWT_SECRET", "short")]);
        assert!(short[0].contains("5 bytes"), "{short:?}");
        assert!(
            !short[0].contains("short"),
            "the secret itself is never echoed"
        );
        assert!(
            !settings(&[("APP_ENV", "production"), ("JWT_SECRET", SECRET)])
                .unwrap()
                .uses_ephemeral_secret()
        );
    }

    #[test]
    fn development_replaces_a_short_secret_with_a_random_one() {
        let a = settings(&[("JWT_SECRET", "short")]).unwrap();
        let b = settings(&[("JWT_SECRET", "short")]).unwrap();
        assert!(a.uses_ephemeral_secret());
        assert_ne!(a.tokens.secret.expose(), b.tokens.secret.expose());
        assert!(a.tokens.secret.expose().len() >= MIN_JWT_SECRET_BYTES);
    }

    #[test]
    fn production_requires_a_bcrypt_cost_of_at_least_10() {
        let production = [("APP_ENV", "production"), ("JWT_SECRET", SECRET)];
        let low = problems(&[production[0], production[1], ("BCRYPT_COST", "8")]);
        assert_eq!(low.len(), 1, "{low:?}");
        assert!(low[0].starts_with("BCRYPT_COST=8"), "{low:?}");
        assert!(problems(&[production[0], production[1], ("BCRYPT_COST", "10")]).is_empty());
        assert!(
            problems(&[("BCRYPT_COST", "8")]).is_empty(),
            "development allows it"
        );
        assert!(!problems(&[("BCRYPT_COST", "3")]).is_empty());
        assert!(!problems(&[("BCRYPT_COST", "32")]).is_empty());
    }

    #[test]
    fn plain_http_oidc_issuers_are_refused_in_production_even_on_loopback() {
        let provider = [
            ("OIDC_PROVIDERS", "kc"),
            ("OIDC_KC_ISSUER", "http://127.0.0.1:8080/realms/x"),
            ("OIDC_KC_CLIENT_ID", "id"),
            (
                "OIDC_KC_REDIRECT_URL",
                "https://auth.example.com/auth/kc/callback",
            ),
        ];
        let mut production = vec![("APP_ENV", "production"), ("JWT_SECRET", SECRET)];
        production.extend(provider);
        let refused = problems(&production);
        assert!(
            refused.iter().any(|p| p.contains("OIDC_KC_ISSUER")),
            "{refused:?}"
        );
        assert!(settings(&provider).is_ok(), "allowed in development");
    }

    #[test]
    fn bench_routes_are_refused_in_production() {
        let refused = problems(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", SECRET),
            ("BENCH_ROUTES", "true"),
        ]);
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].contains("BENCH_ROUTES"));
        assert!(
            settings(&[("BENCH_ROUTES", "true")])
                .unwrap()
                .server
                .bench_routes
        );
    }

    #[test]
    fn production_refuses_a_private_key_file_others_can_read() {
        let mut s = settings(&[("JWT_SECRET", SECRET)]).unwrap();
        s.tokens.keys.warnings.push(
            "JWT_PRIVATE_KEY_FILE: key.pem holds a private key and is readable by group or others"
                .to_owned(),
        );
        assert!(s.validate().is_ok(), "a warning in development");
        s.environment = Environment::Production;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("JWT_PRIVATE_KEY_FILE"), "{err}");
    }

    #[test]
    fn tokens_must_live_no_longer_than_the_accepted_maximum() {
        let broken = problems(&[
            ("JWT_TTL_SECONDS", "7200"),
            ("JWT_MAX_LIFETIME_SECONDS", "3600"),
        ]);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert!(broken[0].contains("JWT_MAX_LIFETIME_SECONDS"), "{broken:?}");
    }

    #[test]
    fn every_broken_rule_is_listed_at_once() {
        let err = settings(&[
            ("APP_ENV", "production"),
            ("BCRYPT_COST", "4"),
            ("BENCH_ROUTES", "true"),
            ("JWT_TTL_SECONDS", "7200"),
            ("JWT_MAX_LIFETIME_SECONDS", "3600"),
        ])
        .unwrap_err();
        let ConfigError::Rules(problems) = &err else {
            panic!("{err}");
        };
        assert_eq!(problems.len(), 4, "{err}");
        let text = err.to_string();
        for name in [
            "JWT_SECRET",
            "BCRYPT_COST",
            "BENCH_ROUTES",
            "JWT_MAX_LIFETIME_SECONDS",
        ] {
            assert_eq!(
                text.lines().filter(|l| l.contains(name)).count(),
                1,
                "{text}"
            );
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = settings(&[("BCRYPT_COST", "abc")]).unwrap_err().to_string();
        assert!(err.contains("BCRYPT_COST"), "{err}");
        assert!(settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, nonsense")]).is_err());
        assert!(settings(&[("LOGIN_MAX_FAILURES", "0")]).is_err());
        assert!(settings(&[("BIND_ADDR", "localhost")]).is_err());
        let err = settings(&[("DATABASE_URL", "mysql://u:hunter2@db/x")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DATABASE_URL") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn cors_origins_must_be_exact_origins() {
        let s = settings(&[(
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com, http://localhost:5173",
        )])
        .unwrap();
        assert_eq!(s.cors.allowed_origins.len(), 2);
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
    fn the_database_location_never_shows_credentials() {
        let s = settings(&[
            (
                "DATABASE_URL",
                "postgres://alice:hunter2@db.example:6543/passport?sslmode=prefer",
            ),
            (
                "DATABASE_LISTEN_URL",
                "postgres://bob:swordfish@direct:5432/passport",
            ),
        ])
        .unwrap();
        assert_eq!(s.database.url.kind(), "postgres");
        assert_eq!(s.database.url.location(), "db.example:6543/passport");
        let debug = format!("{s:?}");
        for secret in ["hunter2", "alice", "swordfish"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
    }

    #[test]
    fn the_sqlite_location_is_an_absolute_path() {
        let s = settings(&[("DATABASE_URL", "sqlite://data/x.db")]).unwrap();
        let location = PathBuf::from(s.database.url.location());
        assert!(location.is_absolute(), "{}", location.display());
        assert!(location.ends_with("data/x.db"));
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_cidrs() {
        let s = settings(&[("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")]).unwrap();
        assert_eq!(s.server.trusted_proxies.len(), 3);
    }

    #[test]
    fn transaction_pooling_needs_postgres_and_a_direct_url() {
        let pooler = ("DATABASE_URL", "postgres://u:hunter2@pgbouncer:6432/db");
        let mode = ("DATABASE_POOL_MODE", "transaction");
        assert_eq!(
            settings(&[pooler]).unwrap().database.pool_mode,
            PoolMode::Session
        );
        let missing = settings(&[pooler, mode]).unwrap_err().to_string();
        assert!(missing.contains("DATABASE_DIRECT_URL"), "{missing}");
        let direct = ("DATABASE_DIRECT_URL", "postgres://u:swordfish@db:5432/db");
        let s = settings(&[pooler, mode, direct]).unwrap();
        assert_eq!(s.database.pool_mode, PoolMode::Transaction);
        assert_eq!(s.database.direct().map(|o| o.get_port()), Some(5432));
        assert!(!format!("{s:?}").contains("swordfish"));
        // The listener's direct URL serves the migrations too when it is the only one.
        let listen = ("DATABASE_LISTEN_URL", "postgres://u@db:5433/db");
        let s = settings(&[pooler, mode, listen]).unwrap();
        assert_eq!(s.database.direct().map(|o| o.get_port()), Some(5433));
        let sqlite = settings(&[("DATABASE_URL", "sqlite://x.db"), mode, direct]).unwrap_err();
        assert!(
            sqlite.to_string().contains("DATABASE_POOL_MODE"),
            "{sqlite}"
        );
        let bad = settings(&[pooler, ("DATABASE_POOL_MODE", "statement")]).unwrap_err();
        assert!(bad.to_string().contains("session or transaction"), "{bad}");
    }
}
