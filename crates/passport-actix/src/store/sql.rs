//! [`SqlStore`]: users, sessions and the login throttle on PostgreSQL or SQLite, each call
//! within a deadline; on PostgreSQL a call whose connection died is run once more on a live one.

use std::future::Future;
use std::time::Duration;

use uuid::Uuid;

use super::error::{self, Unique};
use super::{NO_PASSWORD, RotationRecorder, User, account_key, unix_now};
use crate::StoreError;
use crate::local::{Attempt, Created, LoginThrottle, PasswordHash, StoredCredentials, UserStore};
use crate::session::{
    Liveness, NewCookieSession, NewSession, Rotated, Rotation, SessionStore, now_ms,
};

/// Runs one PostgreSQL call on a pooled connection of a [`SqlStore`] within its deadline,
/// healing the pool as it goes:
///
/// - a call that times out detaches its connection (closed, never pinged or reused: after a
///   silent partition it would hang every later user), and so does a call dropped before it
///   ends (a request cancelled from outside: what it left on the connection, such as a
///   transaction whose `BEGIN` was in flight, cannot always be known);
/// - a call that fails because its connection is gone (I/O, protocol, 08xxx, 57P0x — e.g. the
///   backend was terminated) detaches it and runs once more, on a connection that first
///   answered a bounded ping, within what is left of the same deadline.
///
/// Every call given to it must be safe to repeat.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_on_postgres {
    ($store:expr, $pool:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::SqlStore = $store;
        $crate::__store_on_postgres!(store, $pool, within store.timeout_value(), |$conn| $call)
    }};
    // The same within a shorter time than the store's deadline.
    ($store:expr, $pool:expr, within $limit:expr, |$conn:ident| $call:expr) => {{
        use $crate::store::__tokio as __tokio;
        let store: &$crate::store::SqlStore = $store;
        let pool: &$crate::store::sqlx::PgPool = $pool;
        let deadline = __tokio::time::Instant::now() + $limit;
        let mut retried = false;
        loop {
            // Closed, not returned, if this call is dropped before it ends.
            let mut lent = match __tokio::time::timeout_at(deadline, pool.acquire()).await {
                Ok(Ok(pooled)) => $crate::store::postgres::CallConnection::new(pooled),
                Ok(Err(error)) => break Err($crate::store::classify(error)),
                Err(elapsed) => break Err($crate::StoreError::unavailable(elapsed)),
            };
            if retried {
                let bound = store.ping_timeout().min(deadline - __tokio::time::Instant::now());
                if $crate::store::postgres::bounded_ping(lent.conn(), bound).await.is_err() {
                    lent.close();
                    if __tokio::time::Instant::now() >= deadline {
                        break Err($crate::StoreError::unavailable(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "no live database connection in time",
                        )));
                    }
                    continue;
                }
            }
            let result = {
                let $conn: &mut $crate::store::sqlx::PgConnection = lent.conn();
                __tokio::time::timeout_at(deadline, $crate::__store_pooled!(store, $conn, $call)).await
            };
            match result {
                Ok(Ok(value)) => {
                    lent.release();
                    break Ok(value);
                }
                Ok(Err(error)) if $crate::store::connection_lost(&error) => {
                    lent.close();
                    if retried {
                        break Err($crate::store::classify(error));
                    }
                    $crate::store::__tracing::info!(%error, "a pooled database connection was gone; retrying once");
                    retried = true;
                }
                Ok(Err(error)) => {
                    lent.release();
                    break Err($crate::store::classify(error));
                }
                Err(elapsed) => {
                    lent.close();
                    break Err($crate::StoreError::unavailable(elapsed));
                }
            }
        }
    }};
}

/// `$call` on `$conn` (a `&mut PgConnection`) as the [`SqlStore`]'s pool mode requires: as it
/// is in session mode; behind a transaction pooler ([`SqlStore::transaction_pooling`]), in a
/// transaction of its own (so every statement of the call runs on one backend, with the
/// statement timeout, after the backend's leftover prepared statements are dropped),
/// committed when the call succeeds and rolled back when it fails.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_pooled {
    ($store:expr, $conn:ident, $call:expr) => {
        async {
            let store: &$crate::store::SqlStore = $store;
            match store.pooled_begin() {
                None => $call.await,
                Some(begin) => {
                    let mut tx =
                        $crate::store::sqlx::Connection::begin_with(&mut *$conn, begin.to_owned())
                            .await?;
                    let result = {
                        let $conn: &mut $crate::store::sqlx::PgConnection = &mut tx;
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

/// Runs one SQLite call on a pooled connection of a [`SqlStore`] within its deadline.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_on_sqlite {
    ($store:expr, $pool:expr, |$conn:ident| $call:expr) => {{
        let store: &$crate::store::SqlStore = $store;
        let pool: &$crate::store::sqlx::SqlitePool = $pool;
        store
            .timed(async {
                let mut pooled = pool.acquire().await?;
                let $conn: &mut $crate::store::sqlx::SqliteConnection = &mut pooled;
                $call.await
            })
            .await
    }};
}

/// Runs the statement `f(args…)` of a statements type (`[path::to::Sql]`, generic over the
/// backend like [`Sql`](super::Sql)) on the [`SqlStore`]'s backend. For crates that enable
/// both `postgres` and `sqlite` (the library itself uses `run!`, which follows its features).
#[doc(hidden)]
#[macro_export]
macro_rules! __store_run {
    ($store:expr, [$($sql:tt)*], $f:ident($($arg:expr),* $(,)?)) => {{
        let store: &$crate::store::SqlStore = $store;
        match store.database() {
            $crate::store::Database::Postgres(pool) => $crate::__store_on_postgres!(store, pool, |conn| {
                $($sql)*::<$crate::store::sqlx::Postgres>::$f(conn, $($arg),*)
            }),
            $crate::store::Database::Sqlite(pool) => $crate::__store_on_sqlite!(store, pool, |conn| {
                $($sql)*::<$crate::store::sqlx::Sqlite>::$f(conn, $($arg),*)
            }),
        }
    }};
}

/// Runs the library's statement `f(args…)` on the store's backend.
macro_rules! run {
    ($store:expr, $f:ident($($arg:expr),* $(,)?)) => {{
        let store: &$crate::store::SqlStore = $store;
        match store.database() {
            #[cfg(feature = "postgres")]
            $crate::store::Database::Postgres(pool) => $crate::__store_on_postgres!(store, pool, |conn| {
                $crate::store::Sql::<sqlx::Postgres>::$f(conn, $($arg),*)
            }),
            #[cfg(feature = "sqlite")]
            $crate::store::Database::Sqlite(pool) => $crate::__store_on_sqlite!(store, pool, |conn| {
                $crate::store::Sql::<sqlx::Sqlite>::$f(conn, $($arg),*)
            }),
        }
    }};
}

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Database {
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// SQLite (a file, or memory).
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
}

#[cfg(feature = "postgres")]
impl From<sqlx::PgPool> for Database {
    fn from(pool: sqlx::PgPool) -> Self {
        Self::Postgres(pool)
    }
}

#[cfg(feature = "sqlite")]
impl From<sqlx::SqlitePool> for Database {
    fn from(pool: sqlx::SqlitePool) -> Self {
        Self::Sqlite(pool)
    }
}

/// Applies the shipped migrations (`migrations/postgres` or `migrations/sqlite` of this crate):
/// the tables [`SqlStore`] uses. An application with its own migration history creates the
/// same tables there instead (passport-server does).
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// # actix_web::rt::System::new().block_on(async {
/// let pool = passport_actix::store::sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
/// passport_actix::store::migrate(&pool).await.unwrap();
/// # });
/// # }
/// ```
pub async fn migrate(
    pool: &(impl Clone + Into<Database>),
) -> Result<(), sqlx::migrate::MigrateError> {
    match pool.clone().into() {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(&pool).await,
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(&pool).await,
    }
}

/// Users, sessions and the login throttle on a [`Database`]: implements [`UserStore`],
/// [`SessionStore`] (token and cookie sessions) and [`LoginThrottle`].
///
/// Every call has a deadline ([`timeout`](Self::timeout), 503 when it passes). On PostgreSQL,
/// a call whose connection turns out dead runs once more on a connection that answered a
/// bounded ping, and a signup insert delivered after its deadline writes nothing.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use std::time::Duration;
/// use passport_actix::local::{Attempt, LoginThrottle};
/// use passport_actix::store::{SqlStore, migrate, sqlx::SqlitePool};
///
/// # actix_web::rt::System::new().block_on(async {
/// let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
/// migrate(&pool).await.unwrap();
/// let store = SqlStore::new(pool).login_throttle(1, Duration::from_secs(900));
/// assert_eq!(store.register_attempt("ada@example.com").await.unwrap(), Attempt::Allowed);
/// assert!(matches!(store.register_attempt("ada@example.com").await.unwrap(), Attempt::Throttled { .. }));
/// # });
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SqlStore {
    db: Database,
    timeout: Duration,
    ping_timeout: Duration,
    login_window: Duration,
    login_max_attempts: u32,
    /// `BEGIN …` for every PostgreSQL call behind a transaction pooler.
    pooled_begin: Option<String>,
}

/// The default deadline of one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl SqlStore {
    /// A store on `db` (a `PgPool`, a `SqlitePool` or a [`Database`]) with a 5-second deadline
    /// per call and a login throttle of 10 failures per 15 minutes.
    pub fn new(db: impl Into<Database>) -> Self {
        Self {
            db: db.into(),
            timeout: DEFAULT_TIMEOUT,
            ping_timeout: (DEFAULT_TIMEOUT / 4).min(Duration::from_secs(1)),
            login_window: Duration::from_secs(15 * 60),
            login_max_attempts: 10,
            pooled_begin: None,
        }
    }

    /// Each call's deadline; a pool-side ping is bounded by a quarter of it, at most a second.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.ping_timeout = (timeout / 4).min(Duration::from_secs(1));
        if self.pooled_begin.is_some() {
            self = self.transaction_pooling(true);
        }
        self
    }

    /// Behind a transaction pooler (PgBouncer in transaction mode, …): every PostgreSQL call
    /// runs in a transaction of its own, opened with the statement timeout and
    /// `DEALLOCATE ALL`. The pool must then cache no statements
    /// (`statement_cache_capacity(0)`).
    pub fn transaction_pooling(mut self, on: bool) -> Self {
        self.pooled_begin = on.then(|| {
            format!(
                "BEGIN; SET LOCAL statement_timeout = {}; DEALLOCATE ALL",
                self.timeout.as_millis()
            )
        });
        self
    }

    /// The login throttle: at most `max_failures` failed logins per account within `window`
    /// (a window that has run out starts again).
    pub fn login_throttle(mut self, max_failures: u32, window: Duration) -> Self {
        self.login_max_attempts = max_failures;
        self.login_window = window;
        self
    }

    /// The underlying pool.
    pub fn database(&self) -> &Database {
        &self.db
    }

    #[doc(hidden)]
    pub fn timeout_value(&self) -> Duration {
        self.timeout
    }

    #[doc(hidden)]
    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }

    #[doc(hidden)]
    pub fn pooled_begin(&self) -> Option<&str> {
        self.pooled_begin.as_deref()
    }

    /// `call` within the deadline, its error classified.
    #[doc(hidden)]
    pub async fn timed<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result.map_err(error::classify),
            Err(elapsed) => Err(StoreError::unavailable(elapsed)),
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

    /// The user of a live session (not revoked, not expired) and when the session ends, in
    /// milliseconds since the epoch: what the liveness check loads.
    pub async fn live_session(&self, session_id: Uuid) -> Result<Option<(User, i64)>, StoreError> {
        run!(self, live_session(session_id, now_ms()))
    }

    /// The live session whose cookie value has this digest: its id, its end and its user.
    pub async fn cookie_session(
        &self,
        digest: &str,
    ) -> Result<Option<(Uuid, i64, User)>, StoreError> {
        run!(self, cookie_session(digest, now_ms()))
    }

    /// Deletes a user with every session; `true` if there was such a user.
    pub async fn delete_user(&self, id: Uuid) -> Result<bool, StoreError> {
        run!(self, delete_user(id))
    }

    /// Deletes ended (expired or revoked) sessions with their refresh tokens; returns how many.
    pub async fn purge_sessions(&self) -> Result<u64, StoreError> {
        run!(self, purge_sessions(now_ms()))
    }

    /// Replaces `user_id`'s password hash, bumps their credentials version (so a login that
    /// checked the old password gets no session) and revokes every other session but `keep`,
    /// in one transaction; returns the revoked session ids.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        hash: &PasswordHash,
        keep: Option<Uuid>,
    ) -> Result<Vec<Uuid>, StoreError> {
        run!(
            self,
            change_password(user_id, hash.as_str(), keep, now_ms())
        )
    }

    /// Rotates a refresh token as
    /// [`rotate_refresh_token`](SessionStore::rotate_refresh_token) does, and writes
    /// `recorder`'s row (an audit row, say) in the rotation's own statement on PostgreSQL —
    /// still one round trip — or its own transaction on SQLite: the rotation and the row
    /// happen together or not at all. Hand it to
    /// [`Sessions::refresh_with`](crate::session::Sessions::refresh_with).
    ///
    /// A rotation whose connection was lost is run once more, as every call of this store is:
    /// if the first had committed, the row is written twice (at least once, never lost).
    ///
    /// # Errors
    ///
    /// The store's error, the recorder's statement's included (nothing was rotated then). One
    /// exception: when the presented token is a reuse, its session is revoked even though the
    /// row could not be written (`Ok(ReuseDetected)`, the lost row logged as an error): a
    /// stolen token must end its session whatever the audit trail's state; and an unknown or
    /// ended token, which changes nothing, is `Ok(Unknown)`.
    ///
    /// # Examples
    ///
    /// See [`RotationRecorder`].
    pub async fn rotate_refresh_token_recorded<R: RotationRecorder + ?Sized>(
        &self,
        rotation: &Rotation,
        recorder: &R,
    ) -> Result<Rotated<User>, StoreError> {
        let recorded = match &self.db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                crate::__store_on_postgres!(self, pool, |conn| super::postgres::rotate_recorded(
                    conn, rotation, recorder
                ))
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                crate::__store_on_sqlite!(self, pool, |conn| super::sqlite::rotate(
                    conn,
                    rotation,
                    Some(recorder)
                ))
            }
        };
        match recorded {
            Ok(rotated) => Ok(rotated),
            Err(error) => self.revoke_if_reused(rotation, error).await,
        }
    }

    /// After a recorded rotation failed (its row could not be written, say): a stolen token
    /// must still end its session, so a reuse revokes it without the row (`ReuseDetected`,
    /// the lost row logged as an error); an unknown or ended token changes nothing and answers
    /// `Unknown` (logged as a warning); a rotation or the cap answers `error`, with nothing
    /// changed.
    async fn revoke_if_reused(
        &self,
        rotation: &Rotation,
        error: StoreError,
    ) -> Result<Rotated<User>, StoreError> {
        let revoked = match &self.db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                crate::__store_on_postgres!(self, pool, |conn| super::postgres::revoke_if_reused(
                    conn, rotation
                ))
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                crate::__store_on_sqlite!(self, pool, |conn| super::sqlite::revoke_if_reused(
                    conn, rotation
                ))
            }
        };
        match revoked {
            Ok(Some(Rotated::ReuseDetected { session_id })) => {
                tracing::error!(
                    %error,
                    session_id,
                    "a refresh token was reused: its session is revoked, but the rotation's \
                     recorded row could not be written"
                );
                Ok(Rotated::ReuseDetected { session_id })
            }
            Ok(Some(Rotated::Unknown)) => {
                tracing::warn!(%error, "the recorded row of an unknown refresh token (nothing changed) could not be written");
                Ok(Rotated::Unknown)
            }
            Ok(_) | Err(_) => Err(error),
        }
    }

    /// Deletes the throttle rows whose window has run out; returns how many.
    pub async fn purge_expired_attempts(&self) -> Result<u64, StoreError> {
        let cutoff = unix_now() - self.login_window.as_secs() as i64;
        run!(self, purge_attempts(cutoff))
    }
}

/// The recorded rotation through [`Liveness`]: as the store's, and a session revoked for reuse
/// is forgotten by the liveness cache at once (as [`Liveness`]'s own
/// [`rotate_refresh_token`](SessionStore::rotate_refresh_token) does), so its access tokens
/// are refused at once even where the cache is trusted.
impl Liveness<SqlStore> {
    /// [`SqlStore::rotate_refresh_token_recorded`], forgetting a session it revokes for
    /// reuse from the cache. Use it (not the store's) in
    /// [`Sessions::refresh_with`](crate::session::Sessions::refresh_with) when the sessions
    /// are checked through this `Liveness`.
    ///
    /// # Errors
    ///
    /// The store's.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")] {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use passport_actix::local::{Created, PasswordHash, UserStore};
    /// use passport_actix::session::{Liveness, RefreshError, Sessions};
    /// use passport_actix::store::{RecordStatement, RotationRecorder, SqlStore, migrate, sqlx};
    ///
    /// /// One row per rotation that changed something.
    /// struct Changes;
    /// impl RotationRecorder for Changes {
    ///     fn record(&self, statement: &mut RecordStatement<'_>) {
    ///         statement.sql("INSERT INTO changes SELECT outcome FROM rotation WHERE outcome IN ('rotated', 'reuse')");
    ///     }
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    /// migrate(&pool).await.unwrap();
    /// sqlx::query("CREATE TABLE changes (outcome TEXT)").execute(&pool).await.unwrap();
    /// let store = Arc::new(SqlStore::new(pool));
    /// let Created::User(ada) = store.create_user("ada@example.com", &PasswordHash::new("$2b$…")).await.unwrap() else {
    ///     unreachable!()
    /// };
    /// let ada = ada.id.to_string();
    /// let liveness = Liveness::new(Arc::clone(&store));
    /// liveness.cache().trust_always(); // one process: the cache is believed
    /// let sessions = Sessions::new(Arc::new(liveness.clone())).reuse_grace(Duration::ZERO);
    /// let login = sessions.start(&ada).await.unwrap();
    /// assert!(liveness.check(&login.session_id, &ada).await.unwrap().is_some()); // now cached
    ///
    /// let rotate = async |presented: &str| {
    ///     sessions.refresh_with(presented, async |rotation| {
    ///         liveness.rotate_refresh_token_recorded(rotation, &Changes).await
    ///     }).await
    /// };
    /// rotate(login.refresh_token.as_str()).await.unwrap();
    /// std::thread::sleep(Duration::from_millis(2));
    /// let reused = rotate(login.refresh_token.as_str()).await; // the used token again: a theft
    /// assert!(matches!(reused, Err(RefreshError::ReuseDetected { .. })));
    /// // The trusted cache forgot the revoked session: its access tokens die at once.
    /// assert!(liveness.check(&login.session_id, &ada).await.unwrap().is_none());
    /// # });
    /// # }
    /// ```
    pub async fn rotate_refresh_token_recorded<R: RotationRecorder + ?Sized>(
        &self,
        rotation: &Rotation,
        recorder: &R,
    ) -> Result<Rotated<User>, StoreError> {
        let rotated = self
            .loader()
            .rotate_refresh_token_recorded(rotation, recorder)
            .await?;
        if let Rotated::ReuseDetected { session_id } = &rotated {
            self.cache().invalidate(session_id);
        }
        Ok(rotated)
    }
}

impl UserStore for SqlStore {
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
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                // The insert takes effect only if the database runs it within half the
                // timeout: a 503 (given at the full timeout) then means nothing was written.
                let deadline = crate::clock::now_secs_f64() + self.timeout.as_secs_f64() / 2.0;
                match crate::__store_on_postgres!(self, pool, |conn| super::postgres::insert_user(
                    conn,
                    &user,
                    hash.as_str(),
                    deadline
                )) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(StoreError::unavailable(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the insert reached the database after its deadline; nothing was written",
                    ))),
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
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                crate::__store_on_sqlite!(self, pool, |conn| {
                    super::Sql::<sqlx::Sqlite>::insert_user(conn, &user, hash.as_str())
                })
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
}

impl SessionStore for SqlStore {
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
        let (Ok(id), Ok(user_id)) = (
            Uuid::parse_str(&session.session_id),
            Uuid::parse_str(&session.user_id),
        ) else {
            return Err(StoreError::other("session and user ids must be UUIDs"));
        };
        run!(self, create_cookie_session(id, user_id, session))
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> Result<Rotated<User>, StoreError> {
        // PostgreSQL: one statement (a function); SQLite: one write transaction.
        match &self.db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => {
                crate::__store_on_postgres!(self, pool, |conn| super::postgres::rotate(
                    conn, rotation
                ))
            }
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => {
                crate::__store_on_sqlite!(self, pool, |conn| super::sqlite::rotate(
                    conn,
                    rotation,
                    None::<&dyn RotationRecorder>
                ))
            }
        }
    }

    async fn revoke_session(&self, session_id: &str) -> Result<bool, StoreError> {
        let Ok(id) = Uuid::parse_str(session_id) else {
            return Ok(false);
        };
        run!(self, revoke_session(id, now_ms()))
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
        let revoked = run!(self, revoke_user_sessions(user, keep, now_ms()))?;
        Ok(revoked.iter().map(Uuid::to_string).collect())
    }
}

impl LoginThrottle for SqlStore {
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
