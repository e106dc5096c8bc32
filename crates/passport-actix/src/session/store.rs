//! What sessions need from the application: a store that rotates refresh tokens atomically.

use std::future::Future;

use crate::error::StoreError;
use crate::session::token::RefreshTokenHash;

/// The most unused refresh tokens one session may hold (each retry inside the reuse grace
/// adds one).
pub const MAX_UNUSED_REFRESH_TOKENS: i64 = 32;

/// A session to store, with its first refresh token.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The new session's id (a random UUID).
    pub session_id: String,
    /// The user the session belongs to (the access tokens' `sub`).
    pub user_id: String,
    /// The digest of the first refresh token.
    pub refresh_token: RefreshTokenHash,
    /// When the session was started, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the session ends whatever happens, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// One refresh attempt, for [`SessionStore::rotate_refresh_token`].
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The digest of the refresh token the client presented.
    pub presented: RefreshTokenHash,
    /// The digest of the refresh token that replaces it.
    pub replacement: RefreshTokenHash,
    /// The time of the attempt, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// How long after its first use a refresh token may be presented again without counting
    /// as reuse, in milliseconds.
    pub grace_ms: i64,
}

impl Rotation {
    /// What presenting a token that was first used at `used_at_ms` (`None`: never) means now.
    ///
    /// A store calls this inside its transaction, on the row it locked.
    pub fn classify(&self, used_at_ms: Option<i64>) -> TokenUse {
        match used_at_ms {
            None => TokenUse::First,
            Some(used) if self.now_ms - used <= self.grace_ms => TokenUse::WithinGrace,
            Some(_) => TokenUse::Reuse,
        }
    }
}

/// How a presented refresh token is being used; see [`Rotation::classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Never used: mark it used (now) and store the replacement.
    First,
    /// Used less than the grace ago (a retry, two tabs racing): store the replacement, keep
    /// the first use time, revoke nothing.
    WithinGrace,
    /// Used longer than the grace ago: treat as theft, revoke the whole session.
    Reuse,
}

/// A live session as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (the access tokens' `sid`).
    pub session_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// When it ends, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// What a [`SessionStore`] did with a [`Rotation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotated<U> {
    /// The replacement is stored; the session is live. `user` is the session's user, read in
    /// the same transaction (what the new access token needs), so a refresh is one database
    /// call that either happened or did not.
    Rotated {
        /// The session.
        session: SessionRecord,
        /// Its user.
        user: U,
    },
    /// No such token, or its session is expired, revoked or gone. Nothing changed.
    Invalid,
    /// A used-up token was presented after the grace: the session is now revoked.
    ReuseDetected {
        /// The revoked session.
        session_id: String,
    },
}

/// Where sessions and refresh-token digests live. The application implements it over its
/// database; [`Sessions`](super::Sessions) holds the rules.
///
/// # Rotation, precisely
///
/// [`rotate_refresh_token`](Self::rotate_refresh_token) runs **in one transaction** that
/// locks the presented token's row (PostgreSQL `SELECT … FOR UPDATE`, SQLite by starting with
/// a write), so that concurrent refreshes with one token are serialized:
///
/// 1. no row for `presented`, or its session revoked or expired → [`Rotated::Invalid`];
/// 2. otherwise [`Rotation::classify`] on the row's first-use time:
///    [`TokenUse::First`] sets it to `now_ms` and inserts `replacement` into the same session;
///    [`TokenUse::WithinGrace`] only inserts `replacement`;
///    [`TokenUse::Reuse`] marks the session revoked and answers [`Rotated::ReuseDetected`];
/// 3. a session never holds more than [`MAX_UNUSED_REFRESH_TOKENS`] unused tokens: a
///    replacement beyond that is refused ([`Rotated::Invalid`], nothing changed), so retries
///    inside the grace cannot multiply tokens without bound.
///
/// Used tokens must be kept until their session ends: a used token presented late is how
/// theft is detected.
///
/// # Examples
///
/// See the server crate's PostgreSQL and SQLite implementations; the library's own tests use
/// an in-memory one.
///
/// Implement the methods as plain `async fn`s.
pub trait SessionStore: Send + Sync + 'static {
    /// What the store returns about a session's user when it rotates a token.
    type User: Send + 'static;

    /// Stores a session and its first refresh token, atomically.
    fn create_session(&self, session: &NewSession) -> impl Future<Output = Result<(), StoreError>>;

    /// Rotates a refresh token; see the trait documentation for the exact rules.
    fn rotate_refresh_token(
        &self,
        rotation: &Rotation,
    ) -> impl Future<Output = Result<Rotated<Self::User>, StoreError>>;

    /// Revokes one session; `true` if it was live.
    fn revoke_session(&self, session_id: &str) -> impl Future<Output = Result<bool, StoreError>>;

    /// Revokes every live session of `user_id` except `keep`; returns the revoked ids.
    fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>>;
}
