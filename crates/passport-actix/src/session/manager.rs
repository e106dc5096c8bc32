//! `Sessions`: starting sessions and rotating their refresh tokens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use thiserror::Error;
use uuid::Uuid;

use crate::clock::now_ms;
use crate::error::StoreError;
use crate::outcome::{Failure, FailureKind};
use crate::session::store::{
    NewCookieSession, NewSession, Rotated, Rotation, SessionRecord, SessionStore,
};
use crate::session::token::{RefreshToken, RefreshTokenHash};

/// The default longest life of a session: 30 days.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The default time during which a used refresh token may be presented again: 10 seconds.
pub const DEFAULT_REUSE_GRACE: Duration = Duration::from_secs(10);

/// A session that was just started or refreshed: its id (for the access token's `sid`) and
/// the refresh token to hand to the client.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::session::Sessions;
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
/// let sessions = Sessions::new(Arc::new(store));
/// let issued = sessions.start(&ada).await.unwrap();
/// assert_eq!(issued.user_id, ada);
/// assert_eq!(issued.refresh_token.as_str().len(), 43);
/// // Put `issued.session_id` in the access token (for example as a `sid` claim) and send
/// // `issued.refresh_token.as_str()` to the client.
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The session id.
    pub session_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The new refresh token (only its digest is stored).
    pub refresh_token: RefreshToken,
    /// When the session ends, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// How the user authenticated when the session began (RFC 8176 `amr` values such as
    /// `pwd`, `otp`): every access token of the session carries them, refreshed ones too.
    pub amr: Vec<String>,
}

/// A browser session that was just started: its id and the cookie value to hand to the
/// browser (only its digest is stored); see [`Sessions::start_cookie`].
///
/// # Examples
///
/// ```
/// use passport_actix::session::{IssuedCookieSession, RefreshToken, SessionCookie};
///
/// let issued = IssuedCookieSession {
///     session_id: "s-1".into(),
///     user_id: "ada".into(),
///     cookie_value: RefreshToken::generate(),
///     expires_at_ms: 0,
/// };
/// let set_cookie = SessionCookie::new(true).issue(issued.cookie_value.as_str());
/// assert_eq!(set_cookie.value().len(), 43);
/// ```
#[derive(Debug, Clone)]
pub struct IssuedCookieSession {
    /// The session id.
    pub session_id: String,
    /// The user it belongs to.
    pub user_id: String,
    /// The cookie value (256 bits from the CSPRNG, base64url); `Debug` never prints it.
    pub cookie_value: RefreshToken,
    /// When the session ends, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// Why a refresh was refused.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::session::{RefreshError, Sessions};
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
/// let sessions = Sessions::new(Arc::new(store));
/// let error = sessions.refresh("not a refresh token").await.unwrap_err();
/// assert!(matches!(error, RefreshError::InvalidGrant(_)));
/// let failure = error.failure().unwrap();
/// assert_eq!((failure.status().as_u16(), failure.code()), (400, "invalid_grant"));
/// # });
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The token is unknown, used up, expired or revoked (RFC 6749 §5.2 `invalid_grant`).
    #[error("the refresh token is not valid: {0}")]
    InvalidGrant(&'static str),
    /// The session already holds the most unused refresh tokens it may
    /// ([`MAX_UNUSED_REFRESH_TOKENS`](super::MAX_UNUSED_REFRESH_TOKENS)): too many retries
    /// inside the grace. Nothing changed.
    #[error("the session holds too many unused refresh tokens")]
    CapReached,
    /// A used-up token was presented after the grace: its session was revoked as stolen.
    #[error("a used refresh token was presented again; session {session_id} was revoked")]
    ReuseDetected {
        /// The revoked session.
        session_id: String,
    },
    /// The store failed; nothing was rotated.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RefreshError {
    /// The client's answer for a refused grant: `400 {"error":"invalid_grant"}` whether the
    /// token was unknown, expired, revoked or reused, so a response tells an attacker nothing.
    /// `None` for a store error (answer it as an unavailable or internal error).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::RefreshError;
    ///
    /// let stolen = RefreshError::ReuseDetected { session_id: "s-1".into() };
    /// let failure = stolen.failure().unwrap();
    /// assert_eq!(failure.code(), "invalid_grant", "the client is not told that theft was detected");
    /// assert_eq!(failure.reason(), Some("refresh token reuse detected"));
    /// ```
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::InvalidGrant(_) | Self::CapReached | Self::ReuseDetected { .. } => Some(
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid, expired or revoked",
                )
                .with_kind(FailureKind::InvalidCredentials)
                .with_reason(match self {
                    Self::InvalidGrant(reason) => reason,
                    Self::CapReached => "too many unused refresh tokens",
                    _ => "refresh token reuse detected",
                }),
            ),
            Self::Store(_) => None,
        }
    }
}

/// Sessions with rotating refresh tokens and reuse detection, over a [`SessionStore`].
///
/// * [`start`](Self::start) opens a session at login and returns its first refresh token.
/// * [`refresh`](Self::refresh) uses a refresh token up and returns its replacement, for the
///   same session. Presenting a used-up token again within the
///   [`reuse_grace`](Self::reuse_grace) (a retry, two tabs racing) succeeds too and revokes
///   nothing; presenting it later revokes the whole session, as theft (RFC 6819 §5.2.2.3).
/// * A session ends [`ttl`](Self::ttl) after its login, whatever the refreshes.
///
/// `Sessions` holds the rules and owns no data; the [`SessionStore`] it is built over is where
/// sessions are kept (your database), and an application's own type that implements it (the
/// server's `Store`, say) may hold much else besides.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::session::{RefreshError, Sessions};
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
/// let sessions = Sessions::new(Arc::new(store));
/// let login = sessions.start(&ada).await.unwrap();
/// let (next, user) = sessions.refresh(login.refresh_token.as_str()).await.unwrap();
/// assert_eq!(user.email, "ada@example.com");
/// assert_eq!(next.session_id, login.session_id, "same session, new refresh token");
/// assert_ne!(next.refresh_token, login.refresh_token);
/// assert!(matches!(sessions.refresh("not-a-token").await, Err(RefreshError::InvalidGrant(_))));
/// # });
/// ```
pub struct Sessions<S> {
    store: Arc<S>,
    ttl: Duration,
    grace: Duration,
    derivation_key: Option<Arc<[u8]>>,
}

impl<S> Clone for Sessions<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            ttl: self.ttl,
            grace: self.grace,
            derivation_key: self.derivation_key.clone(),
        }
    }
}

impl<S> fmt::Debug for Sessions<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .field("reuse_grace", &self.grace)
            .field("derived_replacements", &self.derivation_key.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> Sessions<S> {
    /// Sessions over `store`, with the default lifetime (30 days) and reuse grace (10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// ```
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            ttl: DEFAULT_SESSION_TTL,
            grace: DEFAULT_REUSE_GRACE,
            derivation_key: None,
        }
    }

    /// Derives each replacement refresh token from the presented one under `key`
    /// ([`RefreshToken::derive`]) instead of drawing it at random: presenting one token again
    /// inside the [`reuse_grace`](Self::reuse_grace) returns the **same** new token as the
    /// first time (a retry gets what it missed), so a stolen copy cannot fork the session
    /// into two chains that each only ever present unused tokens; the second holder to use
    /// the shared token after the grace trips reuse detection.
    ///
    /// `key` must be secret (at least 32 bytes from a CSPRNG) and the same on every instance
    /// that serves one session, or a retry that reaches another instance gets another token
    /// (keep it in the database, or in configuration shared by the instances).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    /// # actix_web::rt::System::new().block_on(async {
    /// let key = [42u8; 32]; // use 32 bytes from a CSPRNG, shared by every instance
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store)).derive_replacements(&key);
    /// let login = sessions.start(&ada).await.unwrap();
    /// let (first, _) = sessions.refresh(login.refresh_token.as_str()).await.unwrap();
    /// let (retry, _) = sessions.refresh(login.refresh_token.as_str()).await.unwrap();
    /// assert_eq!(first.refresh_token, retry.refresh_token, "a retry gets the same token");
    /// # });
    /// ```
    pub fn derive_replacements(mut self, key: &[u8]) -> Self {
        self.derivation_key = Some(Arc::from(key));
        self
    }

    /// Sets how long a session lives after its login.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use std::sync::Arc;
    /// use passport_actix::session::{now_ms, Sessions};
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store)).ttl(Duration::from_secs(7 * 24 * 3600));
    /// let issued = sessions.start(&ada).await.unwrap();
    /// let week_ms = 7 * 24 * 3600 * 1000;
    /// assert!(issued.expires_at_ms <= now_ms() + week_ms && issued.expires_at_ms > now_ms() + week_ms - 60_000);
    /// # });
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets how long after its first use a refresh token may be presented again harmlessly.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store)).reuse_grace(Duration::from_secs(30));
    /// let login = sessions.start(&ada).await.unwrap();
    /// sessions.refresh(login.refresh_token.as_str()).await.unwrap();
    /// // A retry with the same token, well within 30 s: answered, nothing revoked.
    /// assert!(sessions.refresh(login.refresh_token.as_str()).await.is_ok());
    /// # });
    /// ```
    pub fn reuse_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Starts a session for `user_id` (at login).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// let a = sessions.start(&ada).await.unwrap();
    /// let b = sessions.start(&ada).await.unwrap();
    /// assert_ne!(a.session_id, b.session_id, "one session per login");
    /// # });
    /// ```
    pub async fn start(&self, user_id: &str) -> Result<IssuedSession, StoreError> {
        self.start_with_amr(user_id, &[]).await
    }

    /// [`start`](Self::start), recording how the user authenticated (RFC 8176 `amr` values,
    /// see [`crate::mfa::Amr`]): the session keeps them, and [`refresh`](Self::refresh)
    /// returns them with every new refresh token, so a refreshed access token claims exactly
    /// what the login proved.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// let issued = sessions.start_with_amr(&ada, &["pwd".into(), "otp".into()]).await.unwrap();
    /// assert_eq!(issued.amr, ["pwd", "otp"]);
    /// # });
    /// ```
    pub async fn start_with_amr(
        &self,
        user_id: &str,
        amr: &[String],
    ) -> Result<IssuedSession, StoreError> {
        let (session, refresh_token) = self.new_session(user_id, amr);
        self.store.create_session(&session).await?;
        Ok(issued(session, refresh_token))
    }

    /// Starts a session for `user_id` (with the `amr` of the login) only if the user's
    /// credential is still `credential`, the stamp the login checked (see
    /// [`SessionStore::create_session_checked`]); `Ok(None)` when it changed meanwhile (a
    /// concurrent password change): answer as for a wrong password.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::StoreError;
    /// use passport_actix::session::{NewSession, Rotated, Rotation, SessionStore, Sessions};
    ///
    /// /// Every user's credential is at version "2".
    /// struct Versioned;
    /// impl SessionStore for Versioned {
    ///     type User = String;
    ///     async fn create_session(&self, _: &NewSession) -> Result<(), StoreError> { Ok(()) }
    ///     async fn create_session_checked(&self, _: &NewSession, credential: &str) -> Result<bool, StoreError> {
    ///         Ok(credential == "2")
    ///     }
    /// #   async fn rotate_refresh_token(&self, _: &Rotation) -> Result<Rotated<String>, StoreError> { Ok(Rotated::Unknown) }
    /// #   async fn revoke_session(&self, _: &str) -> Result<bool, StoreError> { Ok(false) }
    /// #   async fn revoke_user_sessions(&self, _: &str, _: Option<&str>) -> Result<Vec<String>, StoreError> { Ok(vec![]) }
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let sessions = Sessions::new(Arc::new(Versioned));
    /// assert!(sessions.start_checked("ada", "2", &[]).await.unwrap().is_some());
    /// assert!(sessions.start_checked("ada", "1", &[]).await.unwrap().is_none(), "the password changed since");
    /// # });
    /// ```
    pub async fn start_checked(
        &self,
        user_id: &str,
        credential: &str,
        amr: &[String],
    ) -> Result<Option<IssuedSession>, StoreError> {
        let (session, refresh_token) = self.new_session(user_id, amr);
        if !self
            .store
            .create_session_checked(&session, credential)
            .await?
        {
            return Ok(None);
        }
        Ok(Some(issued(session, refresh_token)))
    }

    fn new_session(&self, user_id: &str, amr: &[String]) -> (NewSession, RefreshToken) {
        let now = now_ms();
        let refresh_token = RefreshToken::generate();
        let session = NewSession {
            session_id: Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            refresh_token: refresh_token.hash(),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(millis(self.ttl)),
            amr: amr.to_vec(),
        };
        (session, refresh_token)
    }

    /// Starts a browser session for `user_id` (Passport's `serializeUser`): a new random
    /// cookie value, of which the store keeps only the digest. A value the client sent with
    /// the login is never reused (session fixation): every login gets a fresh one.
    ///
    /// Hand the returned value to the browser with
    /// [`SessionCookie::issue`](super::SessionCookie::issue).
    ///
    /// # Errors
    ///
    /// The store's error; [`SessionStore::create_cookie_session`]'s provided implementation
    /// refuses every cookie session.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::{SessionCookie, Sessions};
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap();
    /// let sessions = Sessions::new(Arc::new(store.clone()));
    /// let issued = sessions.start_cookie(&ada.id.to_string()).await.unwrap();
    /// let set_cookie = SessionCookie::new(true).issue(issued.cookie_value.as_str());
    /// assert_eq!(set_cookie.value(), issued.cookie_value.as_str());
    /// // The store knows the session by the value's digest only.
    /// let digest = issued.cookie_value.hash();
    /// let (session_id, _, user) = store.cookie_session(digest.as_str()).await.unwrap().unwrap();
    /// assert_eq!((session_id.to_string(), user.email), (issued.session_id, ada.email));
    /// # });
    /// ```
    pub async fn start_cookie(&self, user_id: &str) -> Result<IssuedCookieSession, StoreError> {
        self.start_cookie_with_amr(user_id, &[]).await
    }

    /// [`start_cookie`](Self::start_cookie), recording how the user authenticated (RFC 8176
    /// `amr` values, as [`start_with_amr`](Self::start_with_amr) does for token sessions), so
    /// a step-up check can read them from the session.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store.clone()));
    /// let issued = sessions.start_cookie_with_amr(&ada, &["pwd".into(), "otp".into()]).await.unwrap();
    /// let digest = issued.cookie_value.hash();
    /// let (_, _, user) = store.cookie_session(digest.as_str()).await.unwrap().unwrap();
    /// assert_eq!(user.amr, ["pwd", "otp"], "kept with the session");
    /// # });
    /// ```
    pub async fn start_cookie_with_amr(
        &self,
        user_id: &str,
        amr: &[String],
    ) -> Result<IssuedCookieSession, StoreError> {
        let now = now_ms();
        let value = RefreshToken::generate();
        let session = NewCookieSession {
            session_id: Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            cookie: value.hash(),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(millis(self.ttl)),
            amr: amr.to_vec(),
        };
        self.store.create_cookie_session(&session).await?;
        Ok(IssuedCookieSession {
            session_id: session.session_id,
            user_id: session.user_id,
            cookie_value: value,
            expires_at_ms: session.expires_at_ms,
        })
    }

    /// Uses `presented` up and returns a new refresh token for the same session, with the
    /// session's user as the store read it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// let login = sessions.start(&ada).await.unwrap();
    /// let (next, user) = sessions.refresh(login.refresh_token.as_str()).await.unwrap();
    /// assert_eq!((next.session_id.as_str(), user.email.as_str()), (login.session_id.as_str(), "ada@example.com"));
    /// # });
    /// ```
    pub async fn refresh(&self, presented: &str) -> Result<(IssuedSession, S::User), RefreshError> {
        let (rotation, refresh_token) = self.rotation(presented)?;
        let rotated = self.store.rotate_refresh_token(&rotation).await?;
        issued_by(rotated, refresh_token)
    }

    /// [`refresh`](Self::refresh), with the rotation run by `rotate` instead of the store's
    /// [`rotate_refresh_token`](SessionStore::rotate_refresh_token): for a rotation that does
    /// more in the same transaction, such as the shipped store's
    /// `SqlStore::rotate_refresh_token_recorded` (features `postgres`, `sqlite`) writing the
    /// application's audit row. `rotate` must follow the rules of
    /// [`SessionStore`]'s rotation; the answer is read as [`refresh`](Self::refresh) reads it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use passport_actix::session::{SessionStore, Sessions};
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// let login = sessions.start(&ada).await.unwrap();
    /// let rotations = Mutex::new(0);
    /// let (next, user) = sessions
    ///     .refresh_with(login.refresh_token.as_str(), async |rotation| {
    ///         *rotations.lock().unwrap() += 1; // and whatever else belongs in the transaction
    ///         sessions.store().rotate_refresh_token(rotation).await
    ///     })
    ///     .await
    ///     .unwrap();
    /// assert_eq!((next.session_id, *rotations.lock().unwrap()), (login.session_id, 1));
    /// assert_eq!(user.id.to_string(), ada);
    /// # });
    /// ```
    pub async fn refresh_with<R>(
        &self,
        presented: &str,
        rotate: R,
    ) -> Result<(IssuedSession, S::User), RefreshError>
    where
        R: AsyncFnOnce(&Rotation) -> Result<Rotated<S::User>, StoreError>,
    {
        let (rotation, refresh_token) = self.rotation(presented)?;
        let rotated = rotate(&rotation).await?;
        issued_by(rotated, refresh_token)
    }

    /// The rotation of `presented` (refused at once when it cannot be a refresh token), with
    /// the replacement handed to the client if it happens.
    fn rotation(&self, presented: &str) -> Result<(Rotation, RefreshToken), RefreshError> {
        let presented_text = presented;
        let Some(presented) = RefreshTokenHash::of_presented(presented) else {
            return Err(RefreshError::InvalidGrant("not a refresh token"));
        };
        let refresh_token = match &self.derivation_key {
            Some(key) => RefreshToken::derive(key, presented_text),
            None => RefreshToken::generate(),
        };
        let rotation = Rotation {
            presented,
            replacement: refresh_token.hash(),
            now_ms: now_ms(),
            grace_ms: millis(self.grace),
        };
        Ok((rotation, refresh_token))
    }

    /// Revokes one session (logout); `true` if it was live.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// let login = sessions.start(&ada).await.unwrap();
    /// assert!(sessions.revoke(&login.session_id).await.unwrap());
    /// # });
    /// ```
    pub async fn revoke(&self, session_id: &str) -> Result<bool, StoreError> {
        self.store.revoke_session(session_id).await
    }

    /// Revokes every session of `user_id` but `keep` (global logout, password change).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::session::Sessions;
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap().id.to_string();
    /// let sessions = Sessions::new(Arc::new(store));
    /// let phone = sessions.start(&ada).await.unwrap();
    /// let laptop = sessions.start(&ada).await.unwrap();
    /// // A password change on the laptop logs the phone out.
    /// let revoked = sessions.revoke_all(&ada, Some(&laptop.session_id)).await.unwrap();
    /// assert_eq!(revoked, [phone.session_id]);
    /// # });
    /// ```
    pub async fn revoke_all(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        self.store.revoke_user_sessions(user_id, keep).await
    }
}

/// The answer of a refresh from what the rotation did: `refresh_token` if it happened.
fn issued_by<U>(
    rotated: Rotated<U>,
    refresh_token: RefreshToken,
) -> Result<(IssuedSession, U), RefreshError> {
    match rotated {
        Rotated::Rotated {
            session:
                SessionRecord {
                    session_id,
                    user_id,
                    expires_at_ms,
                    amr,
                },
            user,
        } => Ok((
            IssuedSession {
                session_id,
                user_id,
                refresh_token,
                expires_at_ms,
                amr,
            },
            user,
        )),
        Rotated::Unknown => Err(RefreshError::InvalidGrant(
            "unknown, expired or revoked refresh token",
        )),
        Rotated::CapReached => Err(RefreshError::CapReached),
        Rotated::ReuseDetected { session_id } => {
            tracing::warn!(session_id, "refresh token reuse detected; session revoked");
            Err(RefreshError::ReuseDetected { session_id })
        }
    }
}

fn issued(session: NewSession, refresh_token: RefreshToken) -> IssuedSession {
    IssuedSession {
        session_id: session.session_id,
        user_id: session.user_id,
        refresh_token,
        expires_at_ms: session.expires_at_ms,
        amr: session.amr,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
