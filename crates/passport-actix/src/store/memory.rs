//! [`MemoryStore`]: the shipped stores' rules in process memory, for tests and examples.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use uuid::Uuid;

use super::{NO_PASSWORD, User, account_key, unix_now};
use crate::StoreError;
use crate::local::{Attempt, Created, LoginThrottle, PasswordHash, StoredCredentials, UserStore};
use crate::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewCookieSession, NewSession, Rotated, Rotation, SessionRecord,
    SessionStore, TokenUse, now_ms,
};

/// Users, sessions (token and cookie) and a windowed login throttle in memory: the same rules
/// as [`SqlStore`](super::SqlStore) (unique emails whatever their case, rotation with reuse
/// detection, a grace and the cap of [`MAX_UNUSED_REFRESH_TOKENS`]), lost when the process
/// ends. For tests, doc examples and prototypes; clones share one state.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::local::{Created, PasswordHash, UserStore};
/// use passport_actix::session::Sessions;
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let Created::User(ada) = store.create_user("ada@example.com", &PasswordHash::new("$2b$…")).await.unwrap() else {
///     unreachable!("a new email");
/// };
/// let sessions = Sessions::new(Arc::new(store.clone()));
/// let login = sessions.start(&ada.id.to_string()).await.unwrap();
/// assert!(store.live_session(login.session_id.parse().unwrap()).await.unwrap().is_some());
/// sessions.revoke(&login.session_id).await.unwrap(); // logout
/// assert!(store.live_session(login.session_id.parse().unwrap()).await.unwrap().is_none());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    login_window: Duration,
    login_max_attempts: u32,
}

#[derive(Debug, Default)]
struct State {
    /// User id → the user, their hash and credentials version.
    users: HashMap<Uuid, (User, String, i64)>,
    /// Session id → the session.
    sessions: HashMap<Uuid, Session>,
    /// Refresh-token digest → its session and first use.
    tokens: HashMap<String, (Uuid, Option<i64>)>,
    /// Account key → (failed attempts, window start in seconds).
    attempts: HashMap<String, (i64, i64)>,
}

#[derive(Debug)]
struct Session {
    user_id: Uuid,
    expires_at: i64,
    revoked: bool,
    cookie: Option<String>,
    amr: Vec<String>,
}

impl Session {
    fn live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at > now
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store, with a login throttle of 10 failures per 15 minutes.
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            login_window: Duration::from_secs(15 * 60),
            login_max_attempts: 10,
        }
    }

    /// The login throttle: at most `max_failures` failed logins per account within `window`.
    pub fn login_throttle(mut self, max_failures: u32, window: Duration) -> Self {
        self.login_max_attempts = max_failures;
        self.login_window = window;
        self
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::other("the memory store's lock is poisoned"))
    }

    /// Adds a user without a password (unknown to password login), for tests and examples;
    /// an error if the email is taken, whatever its case.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::store::MemoryStore;
    ///
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap();
    /// assert_eq!(ada.email, "ada@example.com");
    /// assert!(store.add_user("ADA@example.com").is_err(), "taken");
    /// ```
    pub fn add_user(&self, email: &str) -> Result<User, StoreError> {
        self.lock()?
            .insert_user(email, NO_PASSWORD)
            .ok_or_else(|| StoreError::other("the email is taken"))
    }

    /// The user with this id, if it exists.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        Ok(self.lock()?.users.get(&id).map(|(user, ..)| user.clone()))
    }

    /// The user of a live session and when the session ends (milliseconds since the epoch).
    pub async fn live_session(&self, session_id: Uuid) -> Result<Option<(User, i64)>, StoreError> {
        let state = self.lock()?;
        Ok(state.live_session(session_id, now_ms()))
    }

    /// The live session whose cookie value has this digest: its id, its end and its user.
    pub async fn cookie_session(
        &self,
        digest: &str,
    ) -> Result<Option<(Uuid, i64, User)>, StoreError> {
        let state = self.lock()?;
        let now = now_ms();
        let found = state
            .sessions
            .iter()
            .find(|(_, s)| s.cookie.as_deref() == Some(digest) && s.live(now))
            .map(|(id, _)| *id);
        Ok(found.and_then(|id| {
            state
                .live_session(id, now)
                .map(|(user, expires)| (id, expires, user))
        }))
    }

    /// Deletes a user with every session; `true` if there was such a user.
    pub async fn delete_user(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let existed = state.users.remove(&id).is_some();
        state.sessions.retain(|_, s| s.user_id != id);
        let sessions: Vec<Uuid> = state.sessions.keys().copied().collect();
        state.tokens.retain(|_, (sid, _)| sessions.contains(sid));
        Ok(existed)
    }
}

impl State {
    /// A new user, unless the email is taken (whatever its case).
    fn insert_user(&mut self, email: &str, hash: &str) -> Option<User> {
        let lower = email.to_lowercase();
        if self
            .users
            .values()
            .any(|(user, ..)| user.email.to_lowercase() == lower)
        {
            return None;
        }
        let user = User::new(Uuid::new_v4(), email.to_owned());
        self.users
            .insert(user.id, (user.clone(), hash.to_owned(), 0));
        Some(user)
    }

    fn live_session(&self, session_id: Uuid, now: i64) -> Option<(User, i64)> {
        let session = self.sessions.get(&session_id).filter(|s| s.live(now))?;
        let (user, ..) = self.users.get(&session.user_id)?;
        let mut user = user.clone();
        user.amr = session.amr.clone();
        Some((user, session.expires_at))
    }

    fn insert_session(
        &mut self,
        id: &str,
        user_id: &str,
        expires_at: i64,
        amr: &[String],
    ) -> Result<Uuid, StoreError> {
        let (Ok(id), Ok(user_id)) = (Uuid::parse_str(id), Uuid::parse_str(user_id)) else {
            return Err(StoreError::other("session and user ids must be UUIDs"));
        };
        if !self.users.contains_key(&user_id) {
            return Err(StoreError::other("no such user"));
        }
        let amr = if amr.is_empty() {
            vec![crate::mfa::Amr::PWD.to_owned()]
        } else {
            amr.to_vec()
        };
        self.sessions.entry(id).or_insert(Session {
            user_id,
            expires_at,
            revoked: false,
            cookie: None,
            amr,
        });
        Ok(id)
    }
}

impl UserStore for MemoryStore {
    type User = User;

    async fn find_for_login(
        &self,
        email: &str,
    ) -> Result<Option<StoredCredentials<User>>, StoreError> {
        let state = self.lock()?;
        let email = email.to_lowercase();
        Ok(state
            .users
            .values()
            .find(|(user, hash, _)| user.email.to_lowercase() == email && hash != NO_PASSWORD)
            .map(|(user, hash, version)| StoredCredentials {
                user: User {
                    credentials_version: Some(*version),
                    ..user.clone()
                },
                password_hash: PasswordHash::new(hash.clone()),
            }))
    }

    async fn create_user(
        &self,
        email: &str,
        hash: &PasswordHash,
    ) -> Result<Created<User>, StoreError> {
        Ok(match self.lock()?.insert_user(email, hash.as_str()) {
            Some(user) => Created::User(user),
            None => Created::AlreadyExists,
        })
    }

    async fn update_password_hash(
        &self,
        user: &User,
        verified: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        match state.users.get_mut(&user.id) {
            Some((_, hash, _)) if hash == verified.as_str() => {
                *hash = new.as_str().to_owned();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl SessionStore for MemoryStore {
    type User = User;

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let id = state.insert_session(
            &session.session_id,
            &session.user_id,
            session.expires_at_ms,
            &session.amr,
        )?;
        state
            .tokens
            .entry(session.refresh_token.as_str().to_owned())
            .or_insert((id, None));
        Ok(())
    }

    async fn create_session_checked(
        &self,
        session: &NewSession,
        credential: &str,
    ) -> Result<bool, StoreError> {
        let (Ok(version), Ok(user_id)) =
            (credential.parse::<i64>(), Uuid::parse_str(&session.user_id))
        else {
            return Ok(false);
        };
        // The check and the insert under one lock: atomic, as the SQL statement is.
        let mut state = self.lock()?;
        if state.users.get(&user_id).map(|(_, _, v)| *v) != Some(version) {
            return Ok(false);
        }
        let id = state.insert_session(
            &session.session_id,
            &session.user_id,
            session.expires_at_ms,
            &session.amr,
        )?;
        state
            .tokens
            .entry(session.refresh_token.as_str().to_owned())
            .or_insert((id, None));
        Ok(true)
    }

    async fn create_cookie_session(&self, session: &NewCookieSession) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let id = state.insert_session(
            &session.session_id,
            &session.user_id,
            session.expires_at_ms,
            &session.amr,
        )?;
        if let Some(stored) = state.sessions.get_mut(&id) {
            stored.cookie = Some(session.cookie.as_str().to_owned());
        }
        Ok(())
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<Rotated<User>, StoreError> {
        let mut state = self.lock()?;
        let Some((session_id, used_at)) = state.tokens.get(rotation.presented.as_str()).copied()
        else {
            return Ok(Rotated::Unknown);
        };
        let Some((user, expires_at)) = state.live_session(session_id, rotation.now_ms) else {
            return Ok(Rotated::Unknown);
        };
        let use_ = rotation.classify(used_at);
        if use_ == TokenUse::Reuse {
            if let Some(session) = state.sessions.get_mut(&session_id) {
                session.revoked = true;
            }
            return Ok(Rotated::ReuseDetected {
                session_id: session_id.to_string(),
            });
        }
        if !state.tokens.contains_key(rotation.replacement.as_str()) {
            let unused = state
                .tokens
                .values()
                .filter(|(id, used)| *id == session_id && used.is_none())
                .count() as i64;
            let unused_after = unused + 1 - i64::from(use_ == TokenUse::First);
            if unused_after > MAX_UNUSED_REFRESH_TOKENS {
                return Ok(Rotated::CapReached);
            }
            state
                .tokens
                .insert(rotation.replacement.as_str().to_owned(), (session_id, None));
        }
        if use_ == TokenUse::First {
            state.tokens.insert(
                rotation.presented.as_str().to_owned(),
                (session_id, Some(rotation.now_ms)),
            );
        }
        Ok(Rotated::Rotated {
            session: SessionRecord {
                session_id: session_id.to_string(),
                user_id: user.id.to_string(),
                expires_at_ms: expires_at,
                amr: user.amr.clone(),
            },
            user,
        })
    }

    async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let Ok(id) = Uuid::parse_str(session_id) else {
            return Ok(false);
        };
        let mut state = self.lock()?;
        Ok(state
            .sessions
            .get_mut(&id)
            .is_some_and(|s| !std::mem::replace(&mut s.revoked, true)))
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let Ok(user) = Uuid::parse_str(user_id) else {
            return Ok(Vec::new());
        };
        let keep = keep.and_then(|k| Uuid::parse_str(k).ok());
        let mut state = self.lock()?;
        let mut revoked = Vec::new();
        for (id, session) in &mut state.sessions {
            if session.user_id == user && !session.revoked && Some(*id) != keep {
                session.revoked = true;
                revoked.push(id.to_string());
            }
        }
        Ok(revoked)
    }
}

impl LoginThrottle for MemoryStore {
    async fn register_attempt(&self, email: &str) -> Result<Attempt, StoreError> {
        let now = unix_now();
        let window = self.login_window.as_secs() as i64;
        let mut state = self.lock()?;
        let entry = state.attempts.entry(account_key(email)).or_insert((0, now));
        if entry.1 <= now - window {
            *entry = (0, now);
        }
        entry.0 += 1;
        if entry.0 <= i64::from(self.login_max_attempts) {
            return Ok(Attempt::Allowed);
        }
        Ok(Attempt::Throttled {
            retry_after: Duration::from_secs((entry.1 + window - now).max(1) as u64),
        })
    }

    async fn clear(&self, email: &str) -> Result<(), StoreError> {
        self.lock()?.attempts.remove(&account_key(email));
        Ok(())
    }
}
