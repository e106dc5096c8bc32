//! Whether a session is still live, checked on every guarded request: the [`LivenessCache`]
//! when it can be trusted, else the store (a ticket taken before the read keeps a read that
//! raced with a revocation out of the cache).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::error::StoreError;
use crate::session::cache::{DEFAULT_LIVENESS_CAPACITY, LivenessCache};
use crate::session::store::{NewCookieSession, NewSession, Rotated, Rotation, SessionStore};

/// The longest a cached session is served by a [`Liveness`] built with [`Liveness::new`].
pub const DEFAULT_LIVENESS_MAX_AGE: Duration = Duration::from_secs(300);

/// A live session as a [`SessionLoader`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSession<U> {
    /// The session's user.
    pub user: U,
    /// The user's id (the access tokens' `sub`).
    pub user_id: String,
    /// When the session ends, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

/// Reads a session for [`Liveness`]: its user while it is live (neither revoked nor expired).
/// The shipped stores implement it.
pub trait SessionLoader: Send + Sync + 'static {
    /// The user a live session yields.
    type User: Clone + Send + Sync + 'static;

    /// The live session `session_id`, or `None` (unknown, revoked, expired, or not an id).
    fn load_session(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<LoadedSession<Self::User>>, StoreError>>;

    /// The id of `user` (compared with the access token's `sub`).
    fn user_id(user: &Self::User) -> String;

    /// `user` as a request of session `session_id` sees it: what `Liveness::jwt_strategy`
    /// (feature `jwt`) hands to handlers. The default returns `user` unchanged; the shipped
    /// stores set `store::User::session_id`.
    fn in_session(user: Self::User, session_id: &str) -> Self::User {
        let _ = session_id;
        user
    }
}

/// The session check of a guarded request — session id → [`LivenessCache`] → ticket → store —
/// over a [`SessionLoader`].
///
/// Wrap the store in it for [`Sessions`](super::Sessions) too
/// (`Sessions::new(Arc::new(liveness.clone()))`): it is a [`SessionStore`] that forgets a
/// session from the cache the moment this process revokes it, so a logout refuses the
/// session's access tokens at once. The cache starts untrusted (every check reads the store);
/// [`LivenessCache::trust_always`] suits one process that makes every change itself, and
/// several instances keep it coherent by notifications ([`LivenessCache::trust_until`]).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::local::{Created, PasswordHash, UserStore};
/// use passport_actix::session::{Liveness, Sessions};
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let Created::User(ada) = store.create_user("ada@example.com", &PasswordHash::new("$2b$…")).await.unwrap() else {
///     unreachable!();
/// };
/// let liveness = Liveness::new(Arc::new(store));
/// liveness.cache().trust_always(); // one process: every revocation goes through `liveness`
/// let sessions = Sessions::new(Arc::new(liveness.clone()));
/// let login = sessions.start(&ada.id.to_string()).await.unwrap();
/// let sub = ada.id.to_string();
/// assert!(liveness.check(&login.session_id, &sub).await.unwrap().is_some());
/// sessions.revoke(&login.session_id).await.unwrap(); // logout
/// assert!(liveness.check(&login.session_id, &sub).await.unwrap().is_none());
/// # });
/// ```
pub struct Liveness<L: SessionLoader> {
    loader: Arc<L>,
    cache: Arc<LivenessCache<(L::User, i64)>>,
}

impl<L: SessionLoader> Clone for Liveness<L> {
    fn clone(&self) -> Self {
        Self {
            loader: Arc::clone(&self.loader),
            cache: Arc::clone(&self.cache),
        }
    }
}

impl<L: SessionLoader> std::fmt::Debug for Liveness<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Liveness")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<L: SessionLoader> Liveness<L> {
    /// Checks over `loader`, with a cache of [`DEFAULT_LIVENESS_CAPACITY`] sessions served
    /// for at most [`DEFAULT_LIVENESS_MAX_AGE`] (untrusted until told otherwise).
    pub fn new(loader: Arc<L>) -> Self {
        let cache = LivenessCache::new(DEFAULT_LIVENESS_CAPACITY, DEFAULT_LIVENESS_MAX_AGE);
        Self::with_cache(loader, Arc::new(cache))
    }

    /// Checks over `loader` with a cache of the caller's (shared, say, with a listener that
    /// invalidates it on other instances' revocations).
    pub fn with_cache(loader: Arc<L>, cache: Arc<LivenessCache<(L::User, i64)>>) -> Self {
        Self { loader, cache }
    }

    /// The cache: trust it, invalidate sessions in it.
    pub fn cache(&self) -> &Arc<LivenessCache<(L::User, i64)>> {
        &self.cache
    }

    /// The store the checks read.
    pub fn loader(&self) -> &Arc<L> {
        &self.loader
    }

    /// The user of session `session_id` if it is live and belongs to `user_id`: from the
    /// cache when it can be trusted, else from the store (and then cached, unless something
    /// was invalidated while it was read).
    pub async fn check(
        &self,
        session_id: &str,
        user_id: &str,
    ) -> Result<Option<L::User>, StoreError> {
        let now = now_ms();
        let cached = self.cache.get(session_id);
        let live = match cached.as_deref() {
            Some((user, expires_at)) => Some((user.clone(), *expires_at)),
            None => {
                let ticket = self.cache.ticket();
                let found = self.loader.load_session(session_id).await?;
                found.map(|loaded| {
                    let value = (loaded.user, loaded.expires_at_ms);
                    self.cache
                        .insert(ticket, session_id, &loaded.user_id, value.clone());
                    value
                })
            }
        };
        Ok(live
            .filter(|(user, expires_at)| L::user_id(user) == user_id && *expires_at > now)
            .map(|(user, _)| user))
    }
}

/// The wrapped store, forgetting from the cache every session this process revokes.
impl<S> SessionStore for Liveness<S>
where
    S: SessionLoader + SessionStore,
{
    type User = <S as SessionStore>::User;

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        self.loader.create_session(session).await
    }

    async fn create_session_checked(
        &self,
        session: &NewSession,
        credential: &str,
    ) -> Result<bool, StoreError> {
        self.loader
            .create_session_checked(session, credential)
            .await
    }

    async fn create_cookie_session(&self, session: &NewCookieSession) -> Result<(), StoreError> {
        self.loader.create_cookie_session(session).await
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &Rotation,
    ) -> Result<Rotated<Self::User>, StoreError> {
        let rotated = self.loader.rotate_refresh_token(rotation).await?;
        if let Rotated::ReuseDetected { session_id } = &rotated {
            self.cache.invalidate(session_id);
        }
        Ok(rotated)
    }

    async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let revoked = self.loader.revoke_session(session_id).await;
        // Even on error: the revocation may have committed before a timeout.
        self.cache.invalidate(session_id);
        revoked
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let revoked = self.loader.revoke_user_sessions(user_id, keep).await;
        self.cache.invalidate_user(user_id);
        revoked
    }
}
