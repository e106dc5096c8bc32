//! The server's store: the library's [`SqlStore`] (users, sessions, the login throttle) on
//! PostgreSQL or the embedded SQLite file, with what is the server's own beside it — the
//! liveness cache, browser-session caches, mail, second factors, the audit trail, identities,
//! shared rate-limit buckets and secrets.

mod postgres;
mod sqlite;
mod statements;

use std::time::Duration;

use std::sync::Arc;

use passport_actix::StoreError;
use passport_actix::local::{
    Attempt, Created, LoginThrottle, PasswordHash, StoredCredentials, UserStore,
};
use passport_actix::session::{
    Liveness, LivenessCache, NewCookieSession, NewSession, Rotated, Rotation, SessionStore,
};
pub use passport_actix::store::{Database, NO_PASSWORD, User, classify};
use passport_actix::store::{SqlStore, Unique, account_key, unique_violation};
use uuid::Uuid;

pub use statements::AuditRow;

/// The longest a cached session is served without reading the database again, even while
/// the revocation listener vouches for the cache (a safety net; invalidation is by
/// notification). On SQLite, which has no `NOTIFY`, the cache is never trusted: a session
/// is read from the local file on every request, so changes made by another process (an
/// operator's `sqlite3`, a second server on the same file) are seen at once.
pub const SESSION_CACHE_MAX_AGE: Duration = Duration::from_secs(300);

use crate::configuration::{DatabaseUrl, PoolMode, Settings};

/// Runs one PostgreSQL call on the store's pool within its deadline, healing the pool as it
/// goes (see `passport_actix::store::SqlStore`): every call here is safe to repeat.
macro_rules! on_postgres {
    ($store:expr, $pool:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::Store = $store;
        passport_actix::__store_on_postgres!(store.sql(), $pool, |$conn| $call)
    }};
    // The same within a shorter time than the store's deadline.
    ($store:expr, $pool:expr, within $limit:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::Store = $store;
        passport_actix::__store_on_postgres!(store.sql(), $pool, within $limit, |$conn| $call)
    }};
}

/// `$call` on `$conn` (a `&mut PgConnection`) as `DATABASE_POOL_MODE` requires (in a
/// transaction of its own behind a transaction pooler).
macro_rules! pooled {
    ($store:expr, $conn:ident, $call:expr) => {{
        let store: &$crate::store::Store = $store;
        passport_actix::__store_pooled!(store.sql(), $conn, $call)
    }};
}

/// Runs the server's statement `f(args…)` of [`statements::Sql`], written once for both
/// backends, on the configured one.
macro_rules! run {
    ($store:expr, $f:ident($($arg:expr),* $(,)?)) => {{
        let store: &$crate::store::Store = $store;
        passport_actix::__store_run!(store.sql(), [$crate::store::statements::Sql], $f($($arg),*))
    }};
}

mod audit;
pub use audit::RotationAudit;
mod identities;
mod rate_limits;
pub use identities::NewIdentity;
mod mfa;
pub use mfa::{Factor, MAX_CODE_FAILURES, Proof, Redeemed};

mod mail;
pub use mail::{
    Eligible, LinkRequest, LinkRequestPlan, MailFailure, OutgoingMail, PendingSignup, QueuedMail,
    REVOKED_ON_PASSWORD_RESET, SignupPlan,
};
mod cookie_cache;
mod cookies;
pub use cookies::{LAST_SEEN_RESOLUTION, SessionView};

/// The library's store and the server's own parts: every table of the server, and the
/// library's `SessionStore` among the traits it implements (`passport_actix::session::Sessions`
/// holds the rules that store serves).
#[derive(Clone, Debug)]
pub struct Store {
    /// Users, sessions and the login throttle (and the pool every call here runs on).
    sql: SqlStore,
    /// The session check (cache → ticket → database) over `sql`, the library's.
    liveness: Liveness<SqlStore>,
    /// Browser sessions: cookie digests and last-seen stamps (see `cookies.rs`).
    cookies: Arc<cookie_cache::CookieCaches>,
    refresh_key: RefreshKey,
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
        let sql = SqlStore::new(db)
            .timeout(database.timeout)
            .transaction_pooling(database.pool_mode == PoolMode::Transaction)
            .login_throttle(
                settings.rate_limits.login_max_failures,
                settings.rate_limits.login_failure_window,
            );
        let store = Self {
            liveness: Liveness::with_cache(Arc::new(sql.clone()), Arc::new(liveness)),
            sql,
            cookies: Arc::default(),
            refresh_key: RefreshKey::default(),
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
                Err(error) if unique_violation(&error) == Some(Unique::Email) => {
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
        match self.database() {
            Database::Postgres(pool) => Some(postgres::side_pool(
                pool,
                1,
                acquire,
                self.sql.ping_timeout(),
            )),
            Database::Sqlite(_) => None,
        }
    }

    /// The underlying pool.
    pub fn database(&self) -> &Database {
        self.sql.database()
    }

    /// The library's store (users, sessions, the login throttle) this one is built on.
    pub fn sql(&self) -> &SqlStore {
        &self.sql
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.sql.ping().await
    }

    /// The user with this id, if it still exists.
    pub async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.sql.user_by_id(id).await
    }

    /// The in-process cache of live sessions (kept coherent by the revocation listener).
    pub fn liveness(&self) -> &Arc<LivenessCache<(User, i64)>> {
        self.liveness.cache()
    }

    /// The user of session `session_id` if the session is live and belongs to `user_id`:
    /// the library's check ([`Liveness::check`]: the liveness cache when it can be trusted,
    /// else the database).
    pub async fn session_user(
        &self,
        session_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<User>, StoreError> {
        let user = self
            .liveness
            .check(&session_id.to_string(), &user_id.to_string())
            .await?
            .map(|user| User {
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
        let deleted = self.sql.delete_user(id).await;
        self.liveness.cache().invalidate_user(&id.to_string());
        deleted
    }

    /// Deletes ended (expired or revoked) sessions with their refresh tokens; returns how many.
    pub async fn purge_sessions(&self) -> Result<u64, StoreError> {
        let sessions = self.sql.purge_sessions().await?;
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
        let revoked = self.sql.change_password(user.id, hash, keep).await;
        // Whatever happened, forget this user's cached sessions (the triggers tell the others).
        self.liveness.cache().invalidate_user(&user.id.to_string());
        revoked
    }

    /// Deletes expired throttling rows; returns how many.
    pub async fn purge_expired_attempts(&self) -> Result<u64, StoreError> {
        self.sql.purge_expired_attempts().await
    }
}
impl UserStore for Store {
    type User = User;

    async fn find_for_login(
        &self,
        email: &str,
    ) -> Result<Option<StoredCredentials<User>>, StoreError> {
        self.sql.find_for_login(email).await
    }

    async fn create_user(
        &self,
        email: &str,
        hash: &PasswordHash,
    ) -> Result<Created<User>, StoreError> {
        self.sql.create_user(email, hash).await
    }

    async fn update_password_hash(
        &self,
        user: &User,
        verified: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, StoreError> {
        self.sql.update_password_hash(user, verified, new).await
    }

    async fn has_second_factor(&self, user: &User) -> Result<bool, StoreError> {
        self.has_totp(user.id).await
    }
}
impl SessionStore for Store {
    type User = User;

    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        self.sql.create_session(session).await
    }

    async fn create_session_checked(
        &self,
        session: &NewSession,
        credential: &str,
    ) -> Result<bool, StoreError> {
        self.sql.create_session_checked(session, credential).await
    }

    async fn create_cookie_session(&self, session: &NewCookieSession) -> Result<(), StoreError> {
        self.sql.create_cookie_session(session).await
    }

    /// Through [`Liveness`], which forgets a session revoked for reuse from the cache.
    async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<Rotated<User>, StoreError> {
        self.liveness.rotate_refresh_token(rotation).await
    }

    /// Through [`Liveness`], which forgets the session from the cache (even on error: the
    /// revocation may have committed before a timeout).
    async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
        self.liveness.revoke_session(session_id).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        self.liveness.revoke_user_sessions(user_id, keep).await
    }
}
impl LoginThrottle for Store {
    async fn register_attempt(&self, email: &str) -> Result<Attempt, StoreError> {
        self.sql.register_attempt(email).await
    }

    async fn clear(&self, email: &str) -> Result<(), StoreError> {
        self.sql.clear(email).await
    }
}
