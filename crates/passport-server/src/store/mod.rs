//! User storage and login throttling on PostgreSQL or the embedded SQLite file, through sqlx.

mod error;
mod id;
mod postgres;
mod queries;
mod sqlite;

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::sync::Arc;

use passport_actix::StoreError;
use passport_actix::local::{
    Attempt, Created, LoginThrottle, PasswordHash, StoredCredentials, UserStore,
};
use passport_actix::session::{
    LivenessCache, NewCookieSession, NewSession, Rotated, Rotation, SessionStore, now_ms,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use error::Unique;
pub use error::classify;
pub use queries::AuditRow;
use queries::Sql;

/// The longest a cached session is served without reading the database again, even while
/// the revocation listener vouches for the cache (a safety net; invalidation is by
/// notification). On SQLite, which has no `NOTIFY`, the cache is never trusted: a session
/// is read from the local file on every request, so changes made by another process (an
/// operator's `sqlite3`, a second server on the same file) are seen at once.
pub const SESSION_CACHE_MAX_AGE: Duration = Duration::from_secs(300);

use crate::configuration::{DatabaseUrl, Settings};

/// A user as handlers and responses see it: never the password hash.
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
    /// is started only while the user's row still holds it (see `Store::change_password`).
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

impl passport_actix::mfa::Assurance for User {
    fn amr(&self) -> &[String] {
        &self.amr
    }
}

/// Runs one PostgreSQL call on a pooled connection within the store's deadline, healing the
/// pool as it goes:
///
/// - a call that times out detaches its connection (closed, never pinged or reused: after a
///   silent partition it would hang every later user);
/// - a call that fails because its connection is gone (I/O, protocol, 08xxx, 57P0x — e.g. the
///   backend was terminated) detaches it and runs once more, on a connection that first
///   answered a bounded ping, within what is left of the same deadline.
///
/// Every call here is safe to repeat: reads and idempotent writes, the login-attempt counter
/// (a repeat counts one attempt twice, erring on the safe side) and the signup insert (a
/// repeat that hits the unique index checks whether its own id got in).
macro_rules! on_postgres {
    ($store:expr, $pool:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::Store = $store;
        on_postgres!(store, $pool, within store.timeout, |$conn| $call)
    }};
    // The same within a shorter time than the store's deadline.
    ($store:expr, $pool:expr, within $limit:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::Store = $store;
        let pool: &sqlx::PgPool = $pool;
        let deadline = tokio::time::Instant::now() + $limit;
        let mut retried = false;
        loop {
            let mut pooled = match tokio::time::timeout_at(deadline, pool.acquire()).await {
                Ok(Ok(pooled)) => pooled,
                Ok(Err(error)) => break Err($crate::store::classify(error)),
                Err(elapsed) => break Err(passport_actix::StoreError::unavailable(elapsed)),
            };
            if retried {
                let bound = store.ping_timeout.min(deadline - tokio::time::Instant::now());
                if $crate::store::postgres::bounded_ping(&mut pooled, bound).await.is_err() {
                    drop(pooled.detach());
                    if tokio::time::Instant::now() >= deadline {
                        break Err(passport_actix::StoreError::unavailable(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no live database connection in time",
                        )));
                    }
                    continue;
                }
            }
            let result = {
                let $conn: &mut sqlx::PgConnection = &mut pooled;
                tokio::time::timeout_at(deadline, pooled!(store, $conn, $call)).await
            };
            match result {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err(error)) if $crate::store::error::connection_lost(&error) => {
                    drop(pooled.detach());
                    if retried {
                        break Err($crate::store::classify(error));
                    }
                    tracing::info!(%error, "a pooled database connection was gone; retrying once");
                    retried = true;
                }
                Ok(Err(error)) => break Err($crate::store::classify(error)),
                Err(elapsed) => {
                    drop(pooled.detach());
                    break Err(passport_actix::StoreError::unavailable(elapsed));
                }
            }
        }
    }};
}

/// `$call` on `$conn` (a `&mut PgConnection`) as `DATABASE_POOL_MODE` requires: as it is in
/// session mode; behind a transaction pooler, in a transaction of its own opened by
/// [`postgres::pooled_begin`] (so every statement of the call runs on one backend, with the
/// statement timeout, after the backend's leftover prepared statements are dropped), committed
/// when the call succeeds and rolled back when it fails. A call that opens a transaction of
/// its own gets a savepoint inside this one.
///
/// Every PostgreSQL call on the pool goes through here (by [`on_postgres!`] or directly):
/// a statement run on a pooled connection outside it is not safe behind a transaction pooler.
macro_rules! pooled {
    ($store:expr, $conn:ident, $call:expr) => {
        async {
            let store: &$crate::store::Store = $store;
            match &store.pooled_begin {
                None => $call.await,
                Some(begin) => {
                    let mut tx = sqlx::Connection::begin_with(&mut *$conn, begin.clone()).await?;
                    let result = {
                        let $conn: &mut sqlx::PgConnection = &mut tx;
                        $call.await
                    };
                    match result {
                        Ok(value) => tx.commit().await.map(|()| value),
                        Err(error) => {
                            // The pooler keeps the backend until the transaction ends: end it
                            // now (a failure here changes nothing: the call failed anyway).
                            let _ = tx.rollback().await;
                            Err(error)
                        }
                    }
                }
            }
        }
    };
}

/// Runs one SQLite call on a pooled connection within the store's deadline.
macro_rules! on_sqlite {
    ($store:expr, $pool:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::Store = $store;
        let pool: &sqlx::SqlitePool = $pool;
        store
            .timed(async {
                let mut pooled = pool.acquire().await?;
                let $conn: &mut sqlx::SqliteConnection = &mut pooled;
                $call.await
            })
            .await
    }};
}

/// Runs the statement `f(args…)` of [`queries::Sql`], written once for both backends, on the
/// configured one: through [`on_postgres!`] or [`on_sqlite!`].
macro_rules! run {
    ($store:expr, $f:ident($($arg:expr),* $(,)?)) => {{
        let store: &$crate::store::Store = $store;
        match &store.db {
            $crate::store::Database::Postgres(pool) => on_postgres!(store, pool, |conn| {
                $crate::store::Sql::<sqlx::Postgres>::$f(conn, $($arg),*)
            }),
            $crate::store::Database::Sqlite(pool) => on_sqlite!(store, pool, |conn| {
                $crate::store::Sql::<sqlx::Sqlite>::$f(conn, $($arg),*)
            }),
        }
    }};
}

mod audit;
pub use audit::RotationAudit;
mod identities;
mod rate_limits;
pub use identities::{NO_PASSWORD, NewIdentity};
mod mfa;
pub use mfa::{Factor, MAX_CODE_FAILURES, Proof, Redeemed};

mod mail;
pub use mail::{
    Eligible, LinkRequest, LinkRequestPlan, MailFailure, OutgoingMail, PendingSignup, QueuedMail,
    REVOKED_ON_PASSWORD_RESET, SignupPlan,
};
mod cookies;
pub use cookies::{LAST_SEEN_RESOLUTION, SessionView};

/// A connection pool to the configured database.
#[derive(Clone, Debug)]
pub enum Database {
    /// PostgreSQL, the production backend.
    Postgres(sqlx::PgPool),
    /// The embedded SQLite file.
    Sqlite(sqlx::SqlitePool),
}

/// The database and the time limit on each of its calls.
#[derive(Clone, Debug)]
pub struct Store {
    db: Database,
    timeout: Duration,
    ping_timeout: Duration,
    login_window: Duration,
    login_max_attempts: u32,
    liveness: Arc<LivenessCache<(User, i64)>>,
    /// Browser sessions: cookie digests and last-seen stamps (see `cookies.rs`).
    cookies: Arc<cookies::CookieCaches>,
    refresh_key: RefreshKey,
    /// `BEGIN …` for every PostgreSQL call behind a transaction pooler (see [`pooled!`]).
    pooled_begin: Option<String>,
}

/// The key refresh tokens' replacements are derived from, shared through the database by
/// every instance (`server_secrets`); `Debug` never prints it.
#[derive(Clone, Default)]
struct RefreshKey(Arc<[u8]>);

impl std::fmt::Debug for RefreshKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshKey([redacted])")
    }
}

impl Store {
    /// Connects (failing fast if the database is unreachable) and applies pending migrations.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let database = &settings.database;
        let db = match &database.url {
            DatabaseUrl::Postgres(options) => {
                Database::Postgres(postgres::connect(options, database).await?)
            }
            DatabaseUrl::Sqlite(options) => {
                Database::Sqlite(sqlite::connect(options, database).await?)
            }
        };
        // Trusted only while the revocation listener hears its own heartbeat (PostgreSQL);
        // never on SQLite, which has no listener.
        let liveness = LivenessCache::new(settings.sessions.cache_capacity, SESSION_CACHE_MAX_AGE);
        let store = Self {
            db,
            timeout: database.timeout,
            ping_timeout: postgres::ping_timeout(database),
            login_window: settings.rate_limits.login_failure_window,
            login_max_attempts: settings.rate_limits.login_max_failures,
            liveness: Arc::new(liveness),
            cookies: Arc::default(),
            refresh_key: RefreshKey::default(),
            pooled_begin: postgres::pooled_begin(database),
        };
        store
            .renormalize_emails()
            .await
            .map_err(|e| anyhow::Error::new(e).context("cannot renormalize the stored emails"))?;
        let mut store = store;
        store.refresh_key = store.shared_refresh_key().await.map_err(|e| {
            anyhow::Error::new(e).context("cannot read the shared refresh-token key")
        })?;
        Ok(store)
    }

    /// The refresh-token derivation key every instance on this database shares: created
    /// (32 bytes from the OS CSPRNG) by the first instance to start, read by the others.
    async fn shared_refresh_key(&self) -> Result<RefreshKey, StoreError> {
        use rand::Rng;
        let candidate: [u8; 32] = rand::rng().random();
        let candidate: String = candidate.iter().map(|b| format!("{b:02x}")).collect();
        let stored = run!(
            self,
            server_secret("refresh_token_derivation", candidate.as_str())
        )?;
        Ok(RefreshKey(Arc::from(stored.as_bytes())))
    }

    /// The key from which a refresh token's replacement is derived
    /// ([`Sessions::derive_replacements`](passport_actix::session::Sessions::derive_replacements)):
    /// the same on every instance of this database, so a retry inside the reuse grace gets the
    /// same new token wherever it lands.
    pub fn refresh_token_key(&self) -> &[u8] {
        &self.refresh_key.0
    }

    /// The one-off data migration of `20261129000001_email_unicode_normalization`: rewrites
    /// emails stored under the older rule (trim + lower-case) to today's normalized form.
    /// Candidates are the rows with non-ASCII characters or quotes (an ASCII address without
    /// quotes normalizes to itself). A row whose new form another account already holds is
    /// left unchanged and logged by id.
    async fn renormalize_emails(&self) -> Result<(), StoreError> {
        const NAME: &str = "20261129000001_email_unicode_normalization";
        if run!(self, data_migration_done(NAME))? {
            return Ok(());
        }
        let mut changed = 0usize;
        for (id, email) in run!(self, emails_to_renormalize())? {
            let Ok(normalized) = passport_actix::local::normalize_email(&email) else {
                tracing::warn!(user_id = %id, "stored email is not valid under the new rule; left unchanged");
                continue;
            };
            if normalized == email {
                continue;
            }
            match run!(self, update_email(id, &normalized)) {
                Ok(()) => changed += 1,
                Err(error) if error::unique_violation(&error) == Some(Unique::Email) => {
                    tracing::warn!(user_id = %id, "another account holds this email's normalized form; left unchanged")
                }
                Err(error) => return Err(error),
            }
        }
        run!(self, mark_data_migration(NAME))?;
        if changed > 0 {
            tracing::info!(changed, "stored emails renormalized (NFKC, IDNA)");
        }
        Ok(())
    }

    /// A one-connection PostgreSQL pool of its own (`None` on SQLite), with the main pool's
    /// bounded checks: a connection a silent partition black-holed is found within the ping
    /// bound and replaced, never waited on until the TCP timeout.
    pub fn side_pool(&self, acquire: Duration) -> Option<sqlx::PgPool> {
        match &self.db {
            Database::Postgres(pool) => {
                Some(postgres::side_pool(pool, 1, acquire, self.ping_timeout))
            }
            Database::Sqlite(_) => None,
        }
    }

    /// The underlying pool.
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn timed<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(classify),
            Err(elapsed) => Err(passport_actix::StoreError::unavailable(elapsed)),
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        run!(self, ping())
    }

    /// The user with this id, if it still exists.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        run!(self, user_by_id(id))
    }

    /// The in-process cache of live sessions (kept coherent by the revocation listener).
    pub fn liveness(&self) -> &Arc<LivenessCache<(User, i64)>> {
        &self.liveness
    }

    /// The user of session `session_id` if the session is live and belongs to `user_id`:
    /// from the liveness cache when it can be trusted, else from the database.
    pub async fn session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<User>, StoreError> {
        let sid = session_id.to_string();
        let now = now_ms();
        let cached = self.liveness.get(&sid);
        let live = match cached.as_deref() {
            Some((user, expires_at)) => Some((user.clone(), *expires_at)),
            None => {
                let ticket = self.liveness.ticket();
                let found = run!(self, live_session(session_id, now))?;
                if let Some((user, expires_at)) = &found {
                    self.liveness.insert(
                        ticket,
                        &sid,
                        &user.id.to_string(),
                        (user.clone(), *expires_at),
                    );
                }
                found
            }
        };
        let user = live
            .filter(|(user, expires_at)| user.id == user_id && *expires_at > now)
            .map(|(user, _)| User {
                session_id: Some(session_id),
                ..user
            });
        if user.is_some() {
            self.saw(session_id);
        }
        Ok(user)
    }

    /// Deletes a user with every session; `true` if there was such a user.
    pub async fn delete_user(&self, id: Uuid) -> Result<bool, StoreError> {
        let deleted = run!(self, delete_user(id));
        self.liveness.invalidate_user(&id.to_string());
        deleted
    }

    /// Deletes ended (expired or revoked) sessions with their refresh tokens; returns how many.
    pub async fn purge_sessions(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        let sessions = run!(self, purge_sessions(now))?;
        // Expired second-step logins (`mfa_token`s) go with them.
        Ok(sessions + self.purge_mfa_challenges().await?)
    }

    /// Replaces `user`'s password hash, bumps their credentials version (so a login that
    /// checked the old password gets no session) and revokes every other session but `keep`,
    /// in one transaction; returns the revoked session ids. Every path that sets a new
    /// password goes through here.
    pub async fn change_password(
        &self,
        user: &User,
        hash: &PasswordHash,
        keep: Option<Uuid>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let now = now_ms();
        let revoked = run!(self, change_password(user.id, hash.as_str(), keep, now));
        // Whatever happened, forget this user's cached sessions (the triggers tell the others).
        self.liveness.invalidate_user(&user.id.to_string());
        revoked
    }

    /// Deletes expired throttling rows; returns how many.
    pub async fn purge_expired_attempts(&self) -> Result<u64, StoreError> {
        let cutoff = unix_now() - self.login_window.as_secs() as i64;
        run!(self, purge_attempts(cutoff))
    }
}
impl UserStore for Store {
    type User = User;

    async fn find_for_login(
        &self,
        email: &str,
    ) -> Result<Option<StoredCredentials<User>>, StoreError> {
        let row = run!(self, credentials_by_email(email))?;
        // A user without a password (created by an OpenID login) is unknown to local login:
        // the same answer and the same (dummy-hash) work as for an email nobody has.
        Ok(row
            .filter(|(_, hash, _)| hash != NO_PASSWORD)
            .map(|(user, hash, version)| StoredCredentials {
                user: User {
                    credentials_version: Some(version),
                    ..user
                },
                password_hash: PasswordHash::new(hash),
            }))
    }

    async fn create_user(
        &self,
        email: &str,
        hash: &PasswordHash,
    ) -> Result<Created<User>, StoreError> {
        let user = User::new(Uuid::new_v4(), email.to_owned());
        let inserted = match &self.db {
            // PostgreSQL only: the insert has a deadline, and a retried insert may collide
            // with its own first attempt.
            Database::Postgres(pool) => {
                // The insert takes effect only if the database runs it within half the
                // timeout: a 503 (given at the full timeout) then means nothing was written.
                let deadline = unix_now_f64() + self.timeout.as_secs_f64() / 2.0;
                match on_postgres!(self, pool, |conn| postgres::insert_user(
                    conn,
                    &user,
                    hash.as_str(),
                    deadline
                )) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(passport_actix::StoreError::unavailable(
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the insert reached the database after its deadline; nothing was written",
                        ),
                    )),
                    Err(error) if error::unique_violation(&error).is_some() => {
                        match run!(self, user_exists(user.id)) {
                            Ok(true) => Ok(()),
                            Ok(false) => Err(error),
                            Err(other) => Err(other),
                        }
                    }
                    Err(other) => Err(other),
                }
            }
            Database::Sqlite(pool) => {
                on_sqlite!(self, pool, |conn| Sql::<sqlx::Sqlite>::insert_user(
                    conn,
                    &user,
                    hash.as_str()
                ))
            }
        };
        match inserted {
            Ok(()) => Ok(Created::User(user)),
            Err(error) if error::unique_violation(&error) == Some(Unique::Email) => {
                Ok(Created::AlreadyExists)
            }
            Err(other) => Err(other),
        }
    }

    async fn update_password_hash(
        &self,
        user: &User,
        verified: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError> {
        run!(self, swap_hash(user.id, verified.as_str(), new.as_str()))
    }

    async fn has_second_factor(&self, user: &User) -> Result<bool, StoreError> {
        self.has_totp(user.id).await
    }
}
impl SessionStore for Store {
    type User = User;

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        run!(self, create_session(session, None)).map(|_| ())
    }

    async fn create_session_checked(
        &self,
        session: &NewSession,
        credential: &str,
    ) -> Result<bool, StoreError> {
        let Ok(version) = credential.parse::<i64>() else {
            return Ok(false);
        };
        run!(self, create_session(session, Some(version)))
    }

    async fn create_cookie_session(&self, session: &NewCookieSession) -> Result<(), StoreError> {
        self.insert_cookie_session(session).await
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<Rotated<User>, StoreError> {
        // The order of a rotation's locks is each backend's own. With the caller's audit
        // context, the audit row is written in the rotation's transaction.
        let audit = audit::rotation_audit();
        let rotated = match &self.db {
            Database::Postgres(pool) => on_postgres!(self, pool, |conn| postgres::rotate(
                conn,
                rotation,
                audit.as_ref()
            ))?,
            Database::Sqlite(pool) => on_sqlite!(self, pool, |conn| sqlite::rotate(
                conn,
                rotation,
                audit.as_ref()
            ))?,
        };
        if let Some(audit) = &audit
            && !matches!(rotated, Rotated::Invalid)
        {
            audit.mark_written();
        }
        if let Rotated::ReuseDetected { session_id } = &rotated {
            self.liveness.invalidate(session_id);
        }
        Ok(rotated)
    }

    async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let Ok(id) = Uuid::parse_str(session_id) else {
            return Ok(false);
        };
        let now = now_ms();
        let revoked = run!(self, revoke_session(id, now));
        // Invalidated even on error: the revocation may have committed before a timeout.
        self.liveness.invalidate(session_id);
        revoked
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
        let now = now_ms();
        let revoked = run!(self, revoke_user_sessions(user, keep, now));
        // Forget the user's cached sessions even on error: the revocation may have committed.
        self.liveness.invalidate_user(user_id);
        Ok(revoked?.iter().map(Uuid::to_string).collect())
    }
}
impl LoginThrottle for Store {
    async fn register_attempt(&self, email: &str) -> Result<Attempt, StoreError> {
        let key = account_key(email);
        let now = unix_now();
        let window = self.login_window.as_secs() as i64;
        let (attempts, started) = run!(self, register_attempt(&key, now, window))?;
        if attempts <= i64::from(self.login_max_attempts) {
            return Ok(Attempt::Allowed);
        }
        let remaining = (started + window - now).max(1) as u64;
        Ok(Attempt::Throttled {
            retry_after: Duration::from_secs(remaining),
        })
    }

    async fn clear(&self, email: &str) -> Result<(), StoreError> {
        let key = account_key(email);
        run!(self, clear_attempts(&key))
    }
}

/// The throttling key of an email: its SHA-256, so the table holds digests rather than the
/// submitted addresses (a digest of a guessable address can still be confirmed by guessing).
fn account_key(email: &str) -> String {
    Sha256::digest(email.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unix_now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
