//! The database section: `DATABASE_URL` (PostgreSQL or the embedded SQLite file), the
//! direct and `LISTEN` URLs, the pool and `DATABASE_POOL_MODE`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::env::{ConfigError, Env};

/// The embedded default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/passport.db";

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

impl DatabaseSettings {
    /// Reads the section; transaction pooling needs PostgreSQL and a direct URL.
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
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
