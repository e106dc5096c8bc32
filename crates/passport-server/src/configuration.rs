//! Settings read from `.env` (if present) and the environment, in small typed sections.
//!
//! Each section reads its own variables, and its `Default` is the one place its defaults are
//! written. The rules that involve more than one value or depend on `APP_ENV` (the production
//! rules) are all in [`Settings::validate`], which lists every broken rule at once.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use thiserror::Error;

use crate::keys::KeySettings;
use crate::oidc::OidcSettings;

/// The shortest `JWT_SECRET` accepted, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = passport_actix::jwt::MIN_HMAC_SECRET_BYTES;

/// The lowest `BCRYPT_COST` accepted with `APP_ENV=production`.
pub const MIN_PRODUCTION_BCRYPT_COST: u32 = 10;

/// The embedded default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/passport.db";

/// Every setting of the server, by section. See `.env.example` for their meaning.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `APP_ENV`.
    pub environment: Environment,
    /// The HTTP listener.
    pub server: ServerSettings,
    /// The database.
    pub database: DatabaseSettings,
    /// Access tokens: signing keys, lifetimes, claims.
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
    pub mfa: crate::mfa::MfaSettings,
    /// Mail: SMTP, links, `EMAIL_VERIFICATION` (see [`crate::mail::settings`]).
    pub mail: crate::mail::MailSettings,
    /// `SESSION_COOKIE_NAME`, `SESSION_COOKIE_SECURE` (see [`crate::browser`]).
    pub session_cookie: crate::browser::SessionCookieSettings,
}

/// Where the server runs: development is forgiving about secrets, production is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// Local development (the default).
    #[default]
    Development,
    /// Production (`APP_ENV=production`).
    Production,
}

/// The HTTP listener and what is mounted on it.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `BIND_ADDR`.
    pub bind_addr: SocketAddr,
    /// `WORKERS` (0: one per core).
    pub workers: usize,
    /// `BODY_READ_TIMEOUT_SECONDS`: the longest a whole request body may take to arrive.
    pub body_read_timeout: Duration,
    /// `MAX_CONNECTIONS_PER_ADDRESS`: concurrent connections one client address may hold.
    pub max_connections_per_address: usize,
    /// `LISTEN_BACKLOG`: the listen socket's queue of connections not yet accepted.
    pub listen_backlog: u32,
    /// `TRUSTED_PROXIES`: addresses whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `METRICS_ADDR`: where `GET /metrics` listens (`None`, the default: nowhere).
    pub metrics_addr: Option<SocketAddr>,
    /// `DOCS`: serve `GET /docs` (default: on in development, off with `APP_ENV=production`).
    pub docs: bool,
    /// `DEMO`: serve the demo page at `GET /demo` (default: on in development, off with
    /// `APP_ENV=production`).
    pub demo: bool,
    /// `BENCH_ROUTES`: mount the `/bench/*` routes used by the load script.
    pub bench_routes: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            workers: 0,
            body_read_timeout: Duration::from_secs(5),
            max_connections_per_address: 256,
            listen_backlog: 1024,
            trusted_proxies: Vec::new(),
            metrics_addr: None,
            docs: true,
            demo: true,
            bench_routes: false,
        }
    }
}

/// The database.
#[derive(Clone)]
pub struct DatabaseSettings {
    /// `DATABASE_URL`, parsed (default: the embedded SQLite file).
    pub url: DatabaseUrl,
    /// `DATABASE_LISTEN_URL`: a direct PostgreSQL connection for `LISTEN` (default:
    /// `DATABASE_URL`; set it when `DATABASE_URL` goes through a transaction pooler).
    pub listen_url: Option<PgConnectOptions>,
    /// `DATABASE_MAX_CONNECTIONS`.
    pub max_connections: u32,
    /// `DATABASE_TIMEOUT_SECONDS`: the longest a request waits for the database.
    pub timeout: Duration,
    /// `DATABASE_POOL_MODE`: what sits between the server and PostgreSQL on `DATABASE_URL`
    /// (default: [`PoolMode::Session`], a direct connection or a session pooler).
    pub pool_mode: PoolMode,
    /// `DATABASE_DIRECT_URL`: a direct PostgreSQL connection (no transaction pooler) for the
    /// migrations (they hold a session-level advisory lock) and, unless `DATABASE_LISTEN_URL`
    /// is set, for `LISTEN` (default: `DATABASE_URL`).
    pub direct_url: Option<PgConnectOptions>,
}

/// `DATABASE_POOL_MODE`: how the connections of `DATABASE_URL` reach PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolMode {
    /// `session` (default): each pooled connection is a PostgreSQL session of its own for as
    /// long as it lives (a direct connection, or PgBouncer with `pool_mode = session`); prepared
    /// statements are cached per connection.
    #[default]
    Session,
    /// `transaction`: a transaction pooler (PgBouncer, Supavisor, RDS Proxy … in transaction
    /// mode) may hand each transaction to a different backend. Every database call then runs
    /// in a transaction of its own that starts with `SET LOCAL statement_timeout` and
    /// `DEALLOCATE ALL`, nothing is cached per session, and the migrations and `LISTEN` use
    /// the direct URL (`DATABASE_DIRECT_URL`, else `DATABASE_LISTEN_URL`), which is required.
    Transaction,
}

impl FromStr for PoolMode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "session" => Ok(Self::Session),
            "transaction" => Ok(Self::Transaction),
            _ => Err(()),
        }
    }
}

impl DatabaseSettings {
    /// The direct connection for the migrations and session-level work: `DATABASE_DIRECT_URL`,
    /// else `DATABASE_LISTEN_URL`, else `None` (use `DATABASE_URL`).
    pub fn direct(&self) -> Option<&PgConnectOptions> {
        self.direct_url.as_ref().or(self.listen_url.as_ref())
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: DatabaseUrl::default_sqlite(),
            listen_url: None,
            max_connections: 10,
            timeout: Duration::from_secs(5),
            pool_mode: PoolMode::Session,
            direct_url: None,
        }
    }
}

impl fmt::Debug for DatabaseSettings {
    /// Where the data lives, never a user or a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listen = self
            .listen_url
            .as_ref()
            .map(|o| format!("{}:{}", o.get_host(), o.get_port()));
        f.debug_struct("DatabaseSettings")
            .field("url", &self.url)
            .field("listen_url", &listen)
            .field("max_connections", &self.max_connections)
            .field("timeout", &self.timeout)
            .field("pool_mode", &self.pool_mode)
            .field(
                "direct_url",
                &self
                    .direct_url
                    .as_ref()
                    .map(|o| format!("{}:{}", o.get_host(), o.get_port())),
            )
            .finish()
    }
}

/// `DATABASE_URL`, parsed once: which backend, and how to connect to it.
#[derive(Clone)]
pub enum DatabaseUrl {
    /// `postgres://…` (or `postgresql://…`).
    Postgres(PgConnectOptions),
    /// `sqlite:…`: a file (created if missing).
    Sqlite(SqliteConnectOptions),
}

impl DatabaseUrl {
    /// Parses a `DATABASE_URL` value. The error never quotes the value (it may hold a
    /// password).
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Key {
            name: "DATABASE_URL",
            message,
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::from_str(url)
                .map(Self::Postgres)
                .map_err(|e| invalid(format!("not a valid PostgreSQL URL: {e}")))
        } else if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map(Self::Sqlite)
                .map_err(|e| invalid(format!("not a valid SQLite URL: {e}")))
        } else {
            Err(invalid(
                "must start with postgres:// or sqlite: (e.g. sqlite://data/passport.db)"
                    .to_owned(),
            ))
        }
    }

    fn default_sqlite() -> Self {
        Self::Sqlite(SqliteConnectOptions::new().filename("data/passport.db"))
    }

    /// `"postgres"` or `"sqlite"` (for logs and metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// Where the data lives, for logs: `host:port/database` for PostgreSQL (never the user
    /// or the password), the file's absolute path for SQLite.
    pub fn location(&self) -> String {
        match self {
            Self::Postgres(options) => format!(
                "{}:{}/{}",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or_default()
            ),
            Self::Sqlite(options) => absolute(options.get_filename()).display().to_string(),
        }
    }
}

/// `path` made absolute against the working directory (`:memory:` and the like unchanged).
fn absolute(path: &Path) -> PathBuf {
    if path.as_os_str().to_string_lossy().starts_with(':') {
        return path.to_owned();
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({} at {})", self.kind(), self.location())
    }
}

/// Access tokens.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// `JWT_SECRET` (HS256 only), or a random one for this process.
    pub secret: JwtSecret,
    /// `JWT_ALGORITHM`, `JWT_PRIVATE_KEY_FILE`, `JWT_VERIFY_KEY_FILES`.
    pub keys: KeySettings,
    /// `JWT_TTL_SECONDS`.
    pub ttl: Duration,
    /// `JWT_ISSUER`.
    pub issuer: String,
    /// `JWT_AUDIENCE`.
    pub audience: String,
    /// `JWT_LEEWAY_SECONDS`.
    pub leeway: Duration,
    /// `JWT_MAX_LIFETIME_SECONDS`: the longest `exp - iat` a token accepted may claim.
    pub max_lifetime: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            secret: JwtSecret::Ephemeral {
                secret: random_secret(),
                given_bytes: None,
            },
            keys: KeySettings::default(),
            ttl: Duration::from_secs(3600),
            issuer: "passport-server".to_owned(),
            audience: "passport-api".to_owned(),
            leeway: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(86_400),
        }
    }
}

/// The JWT signing secret: configured, or generated for this process in development.
#[derive(Clone)]
pub enum JwtSecret {
    /// From `JWT_SECRET`.
    Configured(SecretString),
    /// Random, for this process only (`JWT_SECRET` unset or too short).
    Ephemeral {
        /// The generated secret.
        secret: SecretString,
        /// The length of the `JWT_SECRET` refused as too short (`None`: unset).
        given_bytes: Option<usize>,
    },
}

impl JwtSecret {
    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        match self {
            Self::Configured(secret) | Self::Ephemeral { secret, .. } => {
                secret.expose_secret().as_bytes()
            }
        }
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configured(_) => f.write_str("JwtSecret::Configured([redacted])"),
            Self::Ephemeral { .. } => f.write_str("JwtSecret::Ephemeral([redacted])"),
        }
    }
}

/// Sessions and refresh tokens.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `SESSION_TTL_SECONDS`: how long a session lives after its login.
    pub ttl: Duration,
    /// `REFRESH_REUSE_GRACE_SECONDS`: how long a used refresh token may be presented again
    /// without counting as reuse (0: never).
    pub refresh_reuse_grace: Duration,
    /// `SESSION_CACHE_CAPACITY`: live sessions remembered per instance.
    pub cache_capacity: usize,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(2_592_000),
            refresh_reuse_grace: Duration::from_secs(10),
            cache_capacity: 50_000,
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
    /// `HASH_THREAD_NICE`: the niceness of the hashing threads, 0 (the default: the workers'
    /// priority, so a login flood and guarded traffic each keep about half of a saturated
    /// core) to 19 (favouring guarded traffic; nice 4 leaves hashing ≈ 29 %).
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

/// Per-address rate limits and the per-account login throttle.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// `RATE_LIMIT_PER_MINUTE`: requests per client address per minute to `/signup`, and
    /// separately to `/login` (and the OpenID callbacks).
    pub per_minute: u32,
    /// `LOGIN_MAX_FAILURES`: failed logins per account inside the window before it is
    /// throttled.
    pub login_max_failures: u32,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`: that window, and the longest a throttle lasts.
    pub login_failure_window: Duration,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_minute: 60,
            login_max_failures: 10,
            login_failure_window: Duration::from_secs(900),
        }
    }
}

/// Cross-origin requests.
#[derive(Debug, Clone, Default)]
pub struct CorsSettings {
    /// `CORS_ALLOWED_ORIGINS`: exact origins (none by default: no CORS headers at all).
    pub allowed_origins: Vec<String>,
}

/// The audit trail.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// `AUDIT_RETENTION_DAYS`: how long audit rows are kept (`None`: for ever, from `0`).
    pub retention: Option<Duration>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention: Some(Duration::from_secs(90 * 86_400)),
        }
    }
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
    /// A variable whose value is not echoed (a key file, a URL that may hold a password)
    /// cannot be used.
    #[error("invalid {name}: {message}")]
    Key {
        /// The variable.
        name: &'static str,
        /// What is wrong (never the secret).
        message: String,
    },
    /// The `.env` file exists but cannot be read.
    #[error("cannot read .env: {0}")]
    DotEnv(String),
    /// Values that parse but break the rules of [`Settings::validate`], one line each.
    #[error("{}", list(.0))]
    Rules(Vec<String>),
}

fn list(problems: &[String]) -> String {
    match problems {
        [one] => one.clone(),
        many => format!("{} problems:\n  - {}", many.len(), many.join("\n  - ")),
    }
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
        let env = Env(&lookup);
        let environment = match env.get("APP_ENV").as_deref() {
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
        let server = ServerSettings::read(&env, environment)?;
        let mail = crate::mail::MailSettings::from_lookup(
            &|name: &str| env.get(name),
            environment,
            server.bind_addr.port(),
        )?;
        let mut settings = Self {
            environment,
            server,
            database: DatabaseSettings::read(&env)?,
            tokens: TokenSettings::read(&env)?,
            sessions: SessionSettings::read(&env)?,
            passwords: PasswordSettings::read(&env)?,
            rate_limits: RateLimitSettings::read(&env)?,
            cors: CorsSettings::read(&env)?,
            oidc: OidcSettings::from_lookup(&|name: &str| env.get(name))?,
            audit: AuditSettings::read(&env)?,
            mfa: crate::mfa::MfaSettings::from_lookup(&|name: &str| env.get(name))?,
            mail,
            session_cookie: crate::browser::SessionCookieSettings::from_lookup(
                &|name: &str| env.get(name),
                environment,
            )?,
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
    /// among them; the error lists every rule broken, one line each, naming its variable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let production = self.environment == Environment::Production;
        let mut problems = Vec::new();
        if let JwtSecret::Ephemeral { given_bytes, .. } = &self.tokens.secret
            && production
            && self.tokens.keys.is_hmac()
        {
            let got = given_bytes.map_or("unset".to_owned(), |n| format!("{n} bytes"));
            problems.push(format!(
                "JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes when \
                 APP_ENV=production (got {got}); generate one with: openssl rand -base64 48"
            ));
        }
        if production {
            problems.extend(
                self.tokens
                    .keys
                    .warnings
                    .iter()
                    .map(|warning| format!("{warning} (required with APP_ENV=production)")),
            );
        }
        let min_cost = if production {
            MIN_PRODUCTION_BCRYPT_COST
        } else {
            4
        };
        let cost = self.passwords.bcrypt_cost;
        if !(min_cost..=31).contains(&cost) {
            problems.push(format!(
                "BCRYPT_COST={cost} must be an integer from 4 to 31 (at least \
                 {MIN_PRODUCTION_BCRYPT_COST} with APP_ENV=production)"
            ));
        }
        if production {
            // Plain http is allowed on loopback for a local test provider, never in production.
            for (name, provider) in &self.oidc.providers {
                if provider.issuer.to_ascii_lowercase().starts_with("http://") {
                    problems.push(format!(
                        "OIDC_{}_ISSUER must be an https URL with APP_ENV=production (plain \
                         http, even on loopback, is for local tests)",
                        name.to_ascii_uppercase()
                    ));
                }
            }
        }
        if production && self.server.bench_routes {
            problems.push(
                "BENCH_ROUTES=true is refused with APP_ENV=production (the bench routes skip auth)"
                    .to_owned(),
            );
        }
        if self.tokens.max_lifetime < self.tokens.ttl {
            problems.push(format!(
                "JWT_MAX_LIFETIME_SECONDS={} must be at least JWT_TTL_SECONDS={} (the server's \
                 own tokens must be accepted)",
                self.tokens.max_lifetime.as_secs(),
                self.tokens.ttl.as_secs()
            ));
        }
        problems.extend(self.mfa.problems(production));
        problems.extend(self.mail.problems(self.environment));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Rules(problems))
        }
    }

    /// Whether tokens are signed with an HMAC secret generated for this process.
    pub fn uses_ephemeral_secret(&self) -> bool {
        self.tokens.keys.is_hmac() && matches!(self.tokens.secret, JwtSecret::Ephemeral { .. })
    }
}

impl ServerSettings {
    fn read(env: &Env<'_>, environment: Environment) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            bind_addr: env.parse(
                "BIND_ADDR",
                default.bind_addr,
                "host:port, e.g. 127.0.0.1:3000",
            )?,
            workers: env.parse(
                "WORKERS",
                default.workers,
                "a number of worker threads (0: one per core)",
            )?,
            body_read_timeout: env
                .seconds("BODY_READ_TIMEOUT_SECONDS", default.body_read_timeout)?,
            max_connections_per_address: env.positive(
                "MAX_CONNECTIONS_PER_ADDRESS",
                default.max_connections_per_address,
            )?,
            listen_backlog: env.positive("LISTEN_BACKLOG", default.listen_backlog)?,
            trusted_proxies: env
                .list("TRUSTED_PROXIES")
                .iter()
                .map(|entry| parse_net(entry))
                .collect::<Result<_, _>>()?,
            metrics_addr: match env.get("METRICS_ADDR") {
                None => default.metrics_addr,
                Some(value) => Some(value.parse().map_err(|_| ConfigError::Invalid {
                    name: "METRICS_ADDR",
                    value,
                    expected: "host:port, e.g. 127.0.0.1:9100 (unset: no metrics listener)",
                })?),
            },
            docs: env.parse(
                "DOCS",
                default.docs && environment != Environment::Production,
                "true or false",
            )?,
            demo: env.parse(
                "DEMO",
                default.demo && environment != Environment::Production,
                "true or false",
            )?,
            bench_routes: env.parse("BENCH_ROUTES", default.bench_routes, "true or false")?,
        })
    }
}

impl DatabaseSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Self {
            url: match env.get("DATABASE_URL") {
                Some(url) => DatabaseUrl::parse(&url)?,
                None => default.url,
            },
            listen_url: match env.get("DATABASE_LISTEN_URL") {
                None => default.listen_url,
                Some(url) => {
                    Some(
                        PgConnectOptions::from_str(&url).map_err(|e| ConfigError::Key {
                            name: "DATABASE_LISTEN_URL",
                            message: format!("not a valid PostgreSQL URL: {e}"),
                        })?,
                    )
                }
            },
            max_connections: env.positive("DATABASE_MAX_CONNECTIONS", default.max_connections)?,
            timeout: env.seconds("DATABASE_TIMEOUT_SECONDS", default.timeout)?,
            pool_mode: env.parse(
                "DATABASE_POOL_MODE",
                default.pool_mode,
                "session or transaction",
            )?,
            direct_url: match env.get("DATABASE_DIRECT_URL") {
                None => default.direct_url,
                Some(url) => {
                    Some(
                        PgConnectOptions::from_str(&url).map_err(|e| ConfigError::Key {
                            name: "DATABASE_DIRECT_URL",
                            message: format!("not a valid PostgreSQL URL: {e}"),
                        })?,
                    )
                }
            },
        }
        .checked()
    }

    /// Transaction pooling needs PostgreSQL and a direct URL beside it.
    fn checked(self) -> Result<Self, ConfigError> {
        if self.pool_mode == PoolMode::Transaction {
            if !matches!(self.url, DatabaseUrl::Postgres(_)) {
                return Err(ConfigError::Key {
                    name: "DATABASE_POOL_MODE",
                    message: "transaction pooling is for a PostgreSQL DATABASE_URL".to_owned(),
                });
            }
            if self.direct().is_none() {
                return Err(ConfigError::Key {
                    name: "DATABASE_DIRECT_URL",
                    message: "required with DATABASE_POOL_MODE=transaction: a direct PostgreSQL \
                              connection for the migrations and LISTEN, which a transaction \
                              pooler cannot carry"
                        .to_owned(),
                });
            }
        }
        Ok(self)
    }
}

impl TokenSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            secret: match env.get("JWT_SECRET") {
                Some(secret) if secret.len() >= MIN_JWT_SECRET_BYTES => {
                    JwtSecret::Configured(SecretString::from(secret))
                }
                given => JwtSecret::Ephemeral {
                    secret: random_secret(),
                    given_bytes: given.map(|s| s.len()),
                },
            },
            keys: KeySettings::from_lookup(&|name: &str| env.get(name))?,
            ttl: env.seconds("JWT_TTL_SECONDS", default.ttl)?,
            issuer: env.get("JWT_ISSUER").unwrap_or(default.issuer),
            audience: env.get("JWT_AUDIENCE").unwrap_or(default.audience),
            leeway: Duration::from_secs(env.parse(
                "JWT_LEEWAY_SECONDS",
                default.leeway.as_secs(),
                "a number of seconds",
            )?),
            max_lifetime: env.seconds("JWT_MAX_LIFETIME_SECONDS", default.max_lifetime)?,
        })
    }
}

impl SessionSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            ttl: env.seconds("SESSION_TTL_SECONDS", default.ttl)?,
            refresh_reuse_grace: Duration::from_secs(env.parse(
                "REFRESH_REUSE_GRACE_SECONDS",
                default.refresh_reuse_grace.as_secs(),
                "a number of seconds (0 or more)",
            )?),
            cache_capacity: env
                .parse(
                    "SESSION_CACHE_CAPACITY",
                    default.cache_capacity,
                    "a number of sessions",
                )?
                .max(1),
        })
    }
}

impl PasswordSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
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

impl RateLimitSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            per_minute: env.positive("RATE_LIMIT_PER_MINUTE", default.per_minute)?,
            login_max_failures: env.positive("LOGIN_MAX_FAILURES", default.login_max_failures)?,
            login_failure_window: env
                .seconds("LOGIN_FAILURE_WINDOW_SECONDS", default.login_failure_window)?,
        })
    }
}

impl CorsSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            allowed_origins: env
                .list("CORS_ALLOWED_ORIGINS")
                .iter()
                .map(|origin| parse_origin(origin))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl AuditSettings {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default_days = Self::default()
            .retention
            .map_or(0, |d| (d.as_secs() / 86_400) as u32);
        Ok(Self {
            retention: match env.parse(
                "AUDIT_RETENTION_DAYS",
                default_days,
                "a number of days (0: keep for ever)",
            )? {
                0 => None,
                days => Some(Duration::from_secs(u64::from(days) * 86_400)),
            },
        })
    }
}

/// The variables, through a lookup function: trimmed, and empty means unset.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                name,
                value,
                expected,
            }),
        }
    }

    fn positive<T: FromStr + PartialEq + Default>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, ConfigError> {
        let value = self.parse(name, default, "a positive integer")?;
        if value == T::default() {
            return Err(ConfigError::Invalid {
                name,
                value: "0".into(),
                expected: "a positive integer",
            });
        }
        Ok(value)
    }

    fn seconds(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        let default = u32::try_from(default.as_secs()).unwrap_or(u32::MAX);
        self.positive(name, default)
            .map(|s| Duration::from_secs(u64::from(s)))
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn random_secret() -> SecretString {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    SecretString::from(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
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
