//! Stores shipped by the library: users ([`UserStore`]), sessions ([`SessionStore`], token and
//! cookie sessions) and the login throttle ([`LoginThrottle`], windowed: counts expire).
//!
//! * [`SqlStore`] (features `postgres`, `sqlite`, over sqlx): one set of statements for both
//!   backends; apply the tables first with [`migrate`].
//! * [`MemoryStore`] (feature `test-util`): the same rules in memory, for tests and examples.
//!
//! On PostgreSQL a refresh-token rotation is one statement (the function
//! `passport_rotate_refresh_token` of the migrations); a [`RotationRecorder`] writes an
//! application's own row (an audit row) in that same statement, or in SQLite's transaction.
//!
//! Both hold [`User`]s and load a session's user for the liveness check
//! ([`SqlStore::live_session`], [`MemoryStore::live_session`]).
//!
//! # Examples
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use passport_actix::local::{Created, PasswordHash, UserStore};
//! use passport_actix::store::{SqlStore, migrate, sqlx::SqlitePool};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
//! migrate(&pool).await.unwrap();
//! let store = SqlStore::new(pool);
//! let created = store.create_user("ada@example.com", &PasswordHash::new("$2b$…")).await.unwrap();
//! assert!(matches!(created, Created::User(_)));
//! # });
//! # }
//! ```

#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod error;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod id;
mod loader;
#[cfg(feature = "test-util")]
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod queries;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod recorder;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use error::{Unique, classify, connection_lost, unique_violation};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use id::Id;
#[cfg(feature = "test-util")]
pub use memory::MemoryStore;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use queries::{Lock, RowsAffected, Sql, TokenSession, stored_amr, user_from_row, with_amr};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use recorder::{RecordStatement, RecordValue, RotationRecorder};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use sql::{DEFAULT_TIMEOUT, Database, SqlStore, migrate};
/// The sqlx version the SQL stores are built on (its pools, connections and errors).
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use sqlx;

#[doc(hidden)]
pub use tokio as __tokio;
#[doc(hidden)]
pub use tracing as __tracing;

use serde::Serialize;
use uuid::Uuid;

#[allow(unused_imports)] // the links of the module docs
use crate::local::{LoginThrottle, UserStore};
#[allow(unused_imports)]
use crate::session::SessionStore;

/// The password hash of a user who has none (one created by an OpenID login, say): such a
/// user is unknown to password login.
pub const NO_PASSWORD: &str = "!";

/// A user as handlers and responses see it: never the password hash.
///
/// # Examples
///
/// ```
/// use passport_actix::store::User;
///
/// let user = User::new(uuid::Uuid::nil(), "ada@example.com".into());
/// let json = serde_json::to_string(&user).unwrap();
/// assert_eq!(json, r#"{"id":"00000000-0000-0000-0000-000000000000","email":"ada@example.com"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user id (a UUID, serialized as a string).
    pub id: Uuid,
    /// The normalized email.
    pub email: String,
    /// The session the request's access token belongs to (never serialized).
    #[serde(skip)]
    pub session_id: Option<Uuid>,
    /// The credentials version the password login checked (never serialized): its session
    /// is started only while the user's row still holds it.
    #[serde(skip)]
    pub credentials_version: Option<i64>,
    /// How that session's login was authenticated (RFC 8176 `amr`; empty outside a session;
    /// never serialized).
    #[serde(skip)]
    pub amr: Vec<String>,
}

impl User {
    /// A user outside any session.
    pub fn new(id: Uuid, email: String) -> Self {
        Self {
            id,
            email,
            session_id: None,
            credentials_version: None,
            amr: Vec::new(),
        }
    }
}

impl User {
    /// The same user, in session `session_id` (what a guarded request's user carries).
    pub fn in_session(self, session_id: Option<Uuid>) -> Self {
        Self { session_id, ..self }
    }
}

impl crate::mfa::Assurance for User {
    fn amr(&self) -> &[String] {
        &self.amr
    }
}

/// The throttling key of an email: its SHA-256, so the table holds digests rather than the
/// submitted addresses (a digest of a guessable address can still be confirmed by guessing).
///
/// # Examples
///
/// ```
/// assert_eq!(passport_actix::store::account_key("a@b.co").len(), 64);
/// ```
pub fn account_key(email: &str) -> String {
    crate::opaque::sha256_hex(email)
}

/// Seconds since the Unix epoch, signed as the stores' columns are.
pub(crate) fn unix_now() -> i64 {
    i64::try_from(crate::clock::now_secs()).unwrap_or(i64::MAX)
}
