//! What sessions need from the application: a store that rotates refresh tokens atomically.

use std::future::Future;

use crate::error::StoreError;
use crate::session::token::RefreshTokenHash;

/// The most unused refresh tokens one session may hold (each retry inside the reuse grace
/// adds one).
pub const MAX_UNUSED_REFRESH_TOKENS: i64 = 32;

/// A session to store, with its first refresh token.
///
/// # Examples
///
/// ```
/// use passport_actix::session::{now_ms, NewSession, RefreshToken};
///
/// let token = RefreshToken::generate();
/// let session = NewSession {
///     session_id: "5f0c…".into(),
///     user_id: "ada".into(),
///     refresh_token: token.hash(), // the digest, never the token
///     created_at_ms: now_ms(),
///     expires_at_ms: now_ms() + 30 * 24 * 3600 * 1000,
///     amr: vec!["pwd".into()],
/// };
/// assert_eq!(session.refresh_token.as_str().len(), 64);
/// ```
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
    /// How the user authenticated (RFC 8176 `amr` values, in order): store them with the
    /// session and return them in its [`SessionRecord`].
    pub amr: Vec<String>,
}

/// A browser session to store, for [`SessionStore::create_cookie_session`].
///
/// # Examples
///
/// ```
/// use passport_actix::session::{NewCookieSession, RefreshToken, now_ms};
///
/// let value = RefreshToken::generate(); // goes to the browser, in the cookie
/// let session = NewCookieSession {
///     session_id: "0b9c5a52-6f1e-4d8e-9c55-1f2a3b4c5d6e".into(),
///     user_id: "ada".into(),
///     cookie: value.hash(), // only this is stored
///     created_at_ms: now_ms(),
///     expires_at_ms: now_ms() + 30 * 24 * 3600 * 1000,
///     amr: vec!["pwd".into()],
/// };
/// assert_eq!(session.cookie.as_str().len(), 64);
/// ```
#[derive(Debug, Clone)]
pub struct NewCookieSession {
    /// The new session's id (a random UUID).
    pub session_id: String,
    /// The user the session belongs to.
    pub user_id: String,
    /// The digest of the cookie value.
    pub cookie: RefreshTokenHash,
    /// When the session was started, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the session ends whatever happens, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// How the user authenticated (RFC 8176 `amr` values), as in [`NewSession::amr`].
    pub amr: Vec<String>,
}

/// One refresh attempt, for [`SessionStore::rotate_refresh_token`].
///
/// # Examples
///
/// ```
/// use passport_actix::session::{RefreshToken, Rotation, TokenUse};
///
/// let rotation = Rotation {
///     presented: RefreshToken::generate().hash(),
///     replacement: RefreshToken::generate().hash(),
///     now_ms: 100_000,
///     grace_ms: 10_000,
/// };
/// assert_eq!(rotation.classify(None), TokenUse::First);
/// ```
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
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::{RefreshToken, Rotation, TokenUse};
    ///
    /// let rotation = Rotation {
    ///     presented: RefreshToken::generate().hash(),
    ///     replacement: RefreshToken::generate().hash(),
    ///     now_ms: 100_000,
    ///     grace_ms: 10_000,
    /// };
    /// assert_eq!(rotation.classify(None), TokenUse::First);
    /// assert_eq!(rotation.classify(Some(95_000)), TokenUse::WithinGrace);
    /// assert_eq!(rotation.classify(Some(50_000)), TokenUse::Reuse);
    /// ```
    pub fn classify(&self, used_at_ms: Option<i64>) -> TokenUse {
        match used_at_ms {
            None => TokenUse::First,
            Some(used) if self.now_ms - used <= self.grace_ms => TokenUse::WithinGrace,
            Some(_) => TokenUse::Reuse,
        }
    }
}

/// How a presented refresh token is being used; see [`Rotation::classify`].
///
/// # Examples
///
/// ```
/// use passport_actix::session::{RefreshToken, Rotation, TokenUse};
///
/// let rotation = Rotation {
///     presented: RefreshToken::generate().hash(),
///     replacement: RefreshToken::generate().hash(),
///     now_ms: 100_000,
///     grace_ms: 10_000,
/// };
/// match rotation.classify(Some(20_000)) {
///     TokenUse::First | TokenUse::WithinGrace => unreachable!("used 80 s ago"),
///     TokenUse::Reuse => { /* revoke the session, answer Rotated::ReuseDetected */ }
/// }
/// ```
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
///
/// # Examples
///
/// ```
/// use passport_actix::session::{Rotated, SessionRecord};
///
/// let session = SessionRecord { session_id: "s-1".into(), user_id: "ada".into(), expires_at_ms: 1_900_000_000_000, amr: vec!["pwd".into()] };
/// let rotated = Rotated::Rotated { session: session.clone(), user: "Ada Lovelace".to_owned() };
/// assert!(matches!(rotated, Rotated::Rotated { session: s, .. } if s == session));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (the access tokens' `sid`).
    pub session_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// When it ends, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// How the user authenticated when it began (RFC 8176 `amr` values, as stored by
    /// [`SessionStore::create_session`] from [`NewSession::amr`]).
    pub amr: Vec<String>,
}

/// What a [`SessionStore`] did with a [`Rotation`].
///
/// # Examples
///
/// ```
/// use passport_actix::session::Rotated;
///
/// fn describe(rotated: &Rotated<String>) -> &'static str {
///     match rotated {
///         Rotated::Rotated { .. } => "new refresh token stored",
///         Rotated::Unknown => "unknown, expired or revoked",
///         Rotated::CapReached => "too many unused refresh tokens",
///         Rotated::ReuseDetected { .. } => "session revoked",
///     }
/// }
/// assert_eq!(describe(&Rotated::Unknown), "unknown, expired or revoked");
/// ```
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
    Unknown,
    /// The session already holds [`MAX_UNUSED_REFRESH_TOKENS`] unused tokens: the replacement
    /// was refused. Nothing changed.
    CapReached,
    /// A used-up token was presented after the grace: the session is now revoked.
    ReuseDetected {
        /// The revoked session.
        session_id: String,
    },
}

/// Where sessions and refresh-token digests live; [`Sessions`](super::Sessions) holds the
/// rules. The shipped stores implement it (`store::SqlStore` on PostgreSQL or SQLite,
/// `store::MemoryStore` in memory); implement it yourself over another database.
///
/// # Rotation, precisely
///
/// [`rotate_refresh_token`](Self::rotate_refresh_token) runs **in one transaction** that
/// locks the presented token's row (PostgreSQL `SELECT … FOR UPDATE`, SQLite by starting with
/// a write), so that concurrent refreshes with one token are serialized:
///
/// 1. no row for `presented`, or its session revoked or expired → [`Rotated::Unknown`];
/// 2. otherwise [`Rotation::classify`] on the row's first-use time:
///    [`TokenUse::First`] sets it to `now_ms` and inserts `replacement` into the same session;
///    [`TokenUse::WithinGrace`] only inserts `replacement`;
///    [`TokenUse::Reuse`] marks the session revoked and answers [`Rotated::ReuseDetected`];
/// 3. a session never holds more than [`MAX_UNUSED_REFRESH_TOKENS`] unused tokens: a
///    replacement beyond that is refused ([`Rotated::CapReached`], nothing changed), so retries
///    inside the grace cannot multiply tokens without bound.
///
/// Used tokens must be kept until their session ends: a used token presented late is how
/// theft is detected.
///
/// # Examples
///
/// Writing a store: implement the methods as plain `async fn`s. An in-memory store, whose lock
/// stands in for the transaction (a database implementation follows the same steps in SQL):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use passport_actix::StoreError;
/// use passport_actix::session::{
///     MAX_UNUSED_REFRESH_TOKENS, NewSession, RefreshError, Rotated, Rotation, SessionRecord,
///     SessionStore, Sessions, TokenUse,
/// };
///
/// #[derive(Default)]
/// struct Memory(Mutex<State>);
///
/// #[derive(Default)]
/// struct State {
///     /// Session id → the session and whether it is revoked.
///     sessions: HashMap<String, (SessionRecord, bool)>,
///     /// Token digest → its session id and first use.
///     tokens: HashMap<String, (String, Option<i64>)>,
/// }
///
/// impl SessionStore for Memory {
///     type User = String;
///
///     async fn create_session(&self, new: &NewSession) -> Result<(), StoreError> {
///         let mut state = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         let record = SessionRecord {
///             session_id: new.session_id.clone(),
///             user_id: new.user_id.clone(),
///             expires_at_ms: new.expires_at_ms,
///             amr: new.amr.clone(),
///         };
///         state.sessions.insert(new.session_id.clone(), (record, false));
///         state.tokens.insert(new.refresh_token.as_str().to_owned(), (new.session_id.clone(), None));
///         Ok(())
///     }
///
///     async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<Rotated<String>, StoreError> {
///         let mut state = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         let Some((session_id, used_at)) = state.tokens.get(rotation.presented.as_str()).cloned() else {
///             return Ok(Rotated::Unknown);
///         };
///         let Some((session, revoked)) = state.sessions.get_mut(&session_id) else {
///             return Ok(Rotated::Unknown);
///         };
///         if *revoked || session.expires_at_ms <= rotation.now_ms {
///             return Ok(Rotated::Unknown);
///         }
///         let use_ = rotation.classify(used_at);
///         if use_ == TokenUse::Reuse {
///             *revoked = true;
///             return Ok(Rotated::ReuseDetected { session_id });
///         }
///         let session = session.clone();
///         let unused = state.tokens.values().filter(|(id, used)| *id == session_id && used.is_none()).count();
///         let unused_after = unused as i64 + 1 - i64::from(use_ == TokenUse::First);
///         if unused_after > MAX_UNUSED_REFRESH_TOKENS {
///             return Ok(Rotated::CapReached);
///         }
///         if use_ == TokenUse::First {
///             state.tokens.insert(rotation.presented.as_str().to_owned(), (session_id.clone(), Some(rotation.now_ms)));
///         }
///         state.tokens.insert(rotation.replacement.as_str().to_owned(), (session_id, None));
///         let user = session.user_id.clone();
///         Ok(Rotated::Rotated { session, user })
///     }
///
///     async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
///         let mut state = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         Ok(state.sessions.get_mut(session_id).is_some_and(|(_, revoked)| !std::mem::replace(revoked, true)))
///     }
///
///     async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> Result<Vec<String>, StoreError> {
///         let mut state = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         let mut revoked_ids = Vec::new();
///         for (id, (session, revoked)) in &mut state.sessions {
///             if session.user_id == user_id && !*revoked && Some(id.as_str()) != keep {
///                 *revoked = true;
///                 revoked_ids.push(id.clone());
///             }
///         }
///         Ok(revoked_ids)
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let sessions = Sessions::new(Arc::new(Memory::default()));
/// let login = sessions.start("ada").await.unwrap();
/// let (refreshed, _) = sessions.refresh(login.refresh_token.as_str()).await.unwrap();
/// assert!(sessions.revoke(&refreshed.session_id).await.unwrap()); // logout
/// assert!(matches!(
///     sessions.refresh(refreshed.refresh_token.as_str()).await,
///     Err(RefreshError::InvalidGrant(_))
/// ));
/// # });
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// What the store returns about a session's user when it rotates a token.
    type User: Send + 'static;

    /// Stores a session and its first refresh token, atomically.
    fn create_session(&self, session: &NewSession) -> impl Future<Output = Result<(), StoreError>>;

    /// Stores a session and its first refresh token only if `user_id`'s credential is still
    /// `credential` — an opaque stamp of what the login checked (a credentials version, say,
    /// that every password change bumps) — in one atomic step: `Ok(false)`, nothing stored,
    /// when it changed. A login whose password check finished just before a concurrent
    /// password change committed then gets no session, where an unconditional insert would
    /// start one after the change revoked "every other session".
    ///
    /// The default ignores `credential` and calls [`create_session`](Self::create_session);
    /// override it where the store can check (PostgreSQL: `INSERT … SELECT … FROM users
    /// WHERE id = $user AND credentials_version = $checked FOR SHARE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::StoreError;
    /// use passport_actix::session::{NewSession, RefreshToken, Rotated, Rotation, SessionStore, now_ms};
    ///
    /// /// Every user's credential is at version "7".
    /// struct Versioned;
    ///
    /// impl SessionStore for Versioned {
    ///     type User = String;
    ///     async fn create_session(&self, _: &NewSession) -> Result<(), StoreError> { Ok(()) }
    ///     async fn create_session_checked(&self, s: &NewSession, credential: &str) -> Result<bool, StoreError> {
    ///         // In SQL, one statement: the check and the insert are atomic.
    ///         if credential != "7" {
    ///             return Ok(false);
    ///         }
    ///         self.create_session(s).await.map(|()| true)
    ///     }
    /// #   async fn rotate_refresh_token(&self, _: &Rotation) -> Result<Rotated<String>, StoreError> { Ok(Rotated::Unknown) }
    /// #   async fn revoke_session(&self, _: &str) -> Result<bool, StoreError> { Ok(false) }
    /// #   async fn revoke_user_sessions(&self, _: &str, _: Option<&str>) -> Result<Vec<String>, StoreError> { Ok(vec![]) }
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let session = NewSession {
    ///     session_id: "s-1".into(),
    ///     user_id: "ada".into(),
    ///     refresh_token: RefreshToken::generate().hash(),
    ///     created_at_ms: now_ms(),
    ///     expires_at_ms: now_ms() + 60_000,
    ///     amr: vec!["pwd".into()],
    /// };
    /// assert!(!Versioned.create_session_checked(&session, "6").await.unwrap(), "changed since the check");
    /// # });
    /// ```
    fn create_session_checked(
        &self,
        session: &NewSession,
        credential: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> {
        let _ = credential;
        async move { self.create_session(session).await.map(|()| true) }
    }

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

    /// Stores a browser session named by the digest of its cookie value (no refresh token),
    /// for [`Sessions::start_cookie`](super::Sessions::start_cookie). It ends like any other
    /// session: revoked by [`revoke_session`](Self::revoke_session) and
    /// [`revoke_user_sessions`](Self::revoke_user_sessions), or at its expiry.
    ///
    /// The provided implementation refuses: a store that keeps browser sessions overrides it.
    fn create_cookie_session(
        &self,
        session: &NewCookieSession,
    ) -> impl Future<Output = Result<(), StoreError>> {
        let _ = session;
        async {
            Err(StoreError::other(
                "this session store does not keep cookie sessions (implement create_cookie_session)",
            ))
        }
    }
}
