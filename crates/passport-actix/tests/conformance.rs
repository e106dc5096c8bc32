//! One conformance suite for every shipped store: the same tests against `MemoryStore`,
//! `SqlStore` on SQLite (a temporary file) and `SqlStore` on PostgreSQL (a database of its own
//! per test, created from `TEST_DATABASE_URL`, dropped at the end).

#![cfg(any(feature = "test-util", feature = "postgres", feature = "sqlite"))]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use passport_actix::StoreError;
use passport_actix::local::{Attempt, Created, LoginThrottle, PasswordHash, UserStore};
use passport_actix::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewCookieSession, NewSession, RefreshError, RefreshToken, Rotated,
    Rotation, SessionStore, Sessions, now_ms,
};
use passport_actix::store::User;
use uuid::Uuid;

/// What the suite needs of a shipped store beyond the three traits: the liveness load.
trait Shipped: UserStore<User = User> + SessionStore<User = User> + LoginThrottle + Clone {
    async fn live(&self, session_id: Uuid) -> Result<Option<(User, i64)>, StoreError>;
    async fn cookie(&self, digest: &str) -> Result<Option<(Uuid, i64, User)>, StoreError>;
    fn with_throttle(self, max: u32, window: Duration) -> Self;
}

#[cfg(feature = "test-util")]
impl Shipped for passport_actix::store::MemoryStore {
    async fn live(&self, session_id: Uuid) -> Result<Option<(User, i64)>, StoreError> {
        self.live_session(session_id).await
    }
    async fn cookie(&self, digest: &str) -> Result<Option<(Uuid, i64, User)>, StoreError> {
        self.cookie_session(digest).await
    }
    fn with_throttle(self, max: u32, window: Duration) -> Self {
        self.login_throttle(max, window)
    }
}

#[cfg(any(feature = "postgres", feature = "sqlite"))]
impl Shipped for passport_actix::store::SqlStore {
    async fn live(&self, session_id: Uuid) -> Result<Option<(User, i64)>, StoreError> {
        self.live_session(session_id).await
    }
    async fn cookie(&self, digest: &str) -> Result<Option<(Uuid, i64, User)>, StoreError> {
        self.cookie_session(digest).await
    }
    fn with_throttle(self, max: u32, window: Duration) -> Self {
        self.login_throttle(max, window)
    }
}

fn email() -> String {
    format!("user-{}@example.com", Uuid::new_v4().simple())
}

async fn new_user<S: Shipped>(store: &S) -> User {
    match store
        .create_user(&email(), &PasswordHash::new("$2b$04$hash"))
        .await
        .unwrap()
    {
        Created::User(user) => user,
        Created::AlreadyExists => panic!("a fresh email exists already"),
    }
}

fn new_session(user: &User, token: &RefreshToken) -> NewSession {
    NewSession {
        session_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        refresh_token: token.hash(),
        created_at_ms: now_ms(),
        expires_at_ms: now_ms() + 3_600_000,
        amr: vec!["pwd".into()],
    }
}

fn rotation(presented: &RefreshToken, grace_ms: i64) -> (Rotation, RefreshToken) {
    let replacement = RefreshToken::generate();
    let rotation = Rotation {
        presented: presented.hash(),
        replacement: replacement.hash(),
        now_ms: now_ms(),
        grace_ms,
    };
    (rotation, replacement)
}

async fn users_create_and_find<S: Shipped>(store: S) {
    let email = email();
    let hash = PasswordHash::new("$2b$04$first");
    let Created::User(user) = store.create_user(&email, &hash).await.unwrap() else {
        panic!("a fresh email");
    };
    assert_eq!(user.email, email);
    let found = store.find_for_login(&email.to_uppercase()).await.unwrap();
    let found = found.expect("found whatever the letter case");
    assert_eq!(found.user.id, user.id);
    assert_eq!(found.password_hash.as_str(), hash.as_str());
    assert_eq!(found.user.credentials_version, Some(0));
    assert!(
        store
            .find_for_login(&self::email())
            .await
            .unwrap()
            .is_none()
    );
}

async fn users_duplicate_email<S: Shipped>(store: S) {
    let email = email();
    let hash = PasswordHash::new("$2b$04$first");
    assert!(matches!(
        store.create_user(&email, &hash).await.unwrap(),
        Created::User(_)
    ));
    assert!(matches!(
        store
            .create_user(&email.to_uppercase(), &hash)
            .await
            .unwrap(),
        Created::AlreadyExists
    ));
}

async fn users_rehash_is_compare_and_swap<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let old = PasswordHash::new("$2b$04$hash");
    let new = PasswordHash::new("$2b$12$better");
    assert!(!store.update_password_hash(&user, &new, &new).await.unwrap());
    assert!(store.update_password_hash(&user, &old, &new).await.unwrap());
    let found = store.find_for_login(&user.email).await.unwrap().unwrap();
    assert_eq!(found.password_hash.as_str(), new.as_str());
}

async fn sessions_start_refresh_revoke<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let sessions = Sessions::new(Arc::new(store.clone()));
    let login = sessions.start(&user.id.to_string()).await.unwrap();
    let sid: Uuid = login.session_id.parse().unwrap();
    let (live, _) = store.live(sid).await.unwrap().expect("a live session");
    assert_eq!(live.id, user.id);
    let (refreshed, refreshed_user) = sessions
        .refresh(login.refresh_token.as_str())
        .await
        .unwrap();
    assert_eq!(refreshed.session_id, login.session_id);
    assert_eq!(refreshed_user.id, user.id);
    assert_ne!(
        refreshed.refresh_token.as_str(),
        login.refresh_token.as_str()
    );
    assert!(sessions.revoke(&login.session_id).await.unwrap());
    assert!(
        !sessions.revoke(&login.session_id).await.unwrap(),
        "revoked once"
    );
    assert!(store.live(sid).await.unwrap().is_none());
    assert!(matches!(
        sessions.refresh(refreshed.refresh_token.as_str()).await,
        Err(RefreshError::InvalidGrant(_))
    ));
}

async fn sessions_unknown_and_expired_tokens_are_invalid<S: Shipped>(store: S) {
    let (unknown, _) = rotation(&RefreshToken::generate(), 10_000);
    assert!(matches!(
        store.rotate_refresh_token(&unknown).await.unwrap(),
        Rotated::Unknown
    ));
    let user = new_user(&store).await;
    let token = RefreshToken::generate();
    let mut expired = new_session(&user, &token);
    expired.expires_at_ms = now_ms() - 1;
    store.create_session(&expired).await.unwrap();
    let (r, _) = rotation(&token, 10_000);
    assert!(matches!(
        store.rotate_refresh_token(&r).await.unwrap(),
        Rotated::Unknown
    ));
    assert!(
        store
            .live(expired.session_id.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn sessions_reuse_after_grace_revokes<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let first = RefreshToken::generate();
    let session = new_session(&user, &first);
    store.create_session(&session).await.unwrap();
    // No grace: a second use a millisecond or more after the first is a reuse.
    let (r, second) = rotation(&first, 0);
    assert!(matches!(
        store.rotate_refresh_token(&r).await.unwrap(),
        Rotated::Rotated { .. }
    ));
    let (mut again, _) = rotation(&first, 0);
    // A second later by the stores that take the caller's clock; PostgreSQL reads its own
    // (millisecond) clock, which a short pause moves on.
    again.now_ms = r.now_ms + 1_000;
    tokio::time::sleep(Duration::from_millis(5)).await;
    match store.rotate_refresh_token(&again).await.unwrap() {
        Rotated::ReuseDetected { session_id } => assert_eq!(session_id, session.session_id),
        other => panic!("expected a reuse detection, got {other:?}"),
    }
    assert!(
        store
            .live(session.session_id.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let (late, _) = rotation(&second, 0);
    assert!(matches!(
        store.rotate_refresh_token(&late).await.unwrap(),
        Rotated::Unknown
    ));
}

async fn sessions_reuse_within_grace_rotates<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let first = RefreshToken::generate();
    let session = new_session(&user, &first);
    store.create_session(&session).await.unwrap();
    for _ in 0..2 {
        let (r, _) = rotation(&first, 60_000);
        match store.rotate_refresh_token(&r).await.unwrap() {
            Rotated::Rotated {
                session: s,
                user: u,
            } => {
                assert_eq!(s.session_id, session.session_id);
                assert_eq!(u.id, user.id);
                assert_eq!(s.amr, vec!["pwd".to_owned()]);
            }
            other => panic!("expected a rotation inside the grace, got {other:?}"),
        }
    }
    // The same replacement again (a retry whose commit was not acknowledged): still rotated.
    let (r, _) = rotation(&first, 60_000);
    store.rotate_refresh_token(&r).await.unwrap();
    assert!(matches!(
        store.rotate_refresh_token(&r).await.unwrap(),
        Rotated::Rotated { .. }
    ));
}

async fn sessions_cap_unused_tokens<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let first = RefreshToken::generate();
    store
        .create_session(&new_session(&user, &first))
        .await
        .unwrap();
    // Each rotation inside the grace leaves one more unused token: the cap refuses the next.
    for n in 1..=MAX_UNUSED_REFRESH_TOKENS {
        let (r, _) = rotation(&first, 600_000);
        assert!(
            matches!(
                store.rotate_refresh_token(&r).await.unwrap(),
                Rotated::Rotated { .. }
            ),
            "rotation {n}"
        );
    }
    let (r, replacement) = rotation(&first, 600_000);
    assert!(matches!(
        store.rotate_refresh_token(&r).await.unwrap(),
        Rotated::CapReached
    ));
    // Nothing changed: the refused replacement is unknown.
    let (next, _) = rotation(&replacement, 600_000);
    assert!(matches!(
        store.rotate_refresh_token(&next).await.unwrap(),
        Rotated::Unknown
    ));
}

async fn sessions_retry_at_the_cap_finds_its_replacement<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let first = RefreshToken::generate();
    store
        .create_session(&new_session(&user, &first))
        .await
        .unwrap();
    // The rotation that fills the session up to the cap ...
    let mut last = None;
    for _ in 1..=MAX_UNUSED_REFRESH_TOKENS {
        let (r, replacement) = rotation(&first, 600_000);
        assert!(matches!(
            store.rotate_refresh_token(&r).await.unwrap(),
            Rotated::Rotated { .. }
        ));
        last = Some((r, replacement));
    }
    let (r, replacement) = last.unwrap();
    // ... retried with the same replacement (a derived one, or a commit not acknowledged):
    // its replacement is already stored, so the retry rotates instead of hitting the cap,
    // and adds no token (the next new replacement is still refused).
    match store.rotate_refresh_token(&r).await.unwrap() {
        Rotated::Rotated { session, user: u } => {
            assert_eq!(u.id, user.id);
            assert_eq!(session.user_id, user.id.to_string());
        }
        other => panic!("expected the retry to rotate, got {other:?}"),
    }
    let (over, _) = rotation(&first, 600_000);
    assert!(matches!(
        store.rotate_refresh_token(&over).await.unwrap(),
        Rotated::CapReached
    ));
    // The replacement the retry found is a live token of the session.
    let (next, _) = rotation(&replacement, 600_000);
    assert!(matches!(
        store.rotate_refresh_token(&next).await.unwrap(),
        Rotated::Rotated { .. }
    ));
}

async fn sessions_revoke_all_but_one<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let other = new_user(&store).await;
    let sessions = Sessions::new(Arc::new(store.clone()));
    let a = sessions.start(&user.id.to_string()).await.unwrap();
    let b = sessions.start(&user.id.to_string()).await.unwrap();
    let c = sessions.start(&user.id.to_string()).await.unwrap();
    let theirs = sessions.start(&other.id.to_string()).await.unwrap();
    let mut revoked = store
        .revoke_user_sessions(&user.id.to_string(), Some(&a.session_id))
        .await
        .unwrap();
    revoked.sort();
    let mut expected = vec![b.session_id.clone(), c.session_id.clone()];
    expected.sort();
    assert_eq!(revoked, expected);
    assert!(
        store
            .live(a.session_id.parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .live(b.session_id.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .live(theirs.session_id.parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    let all = store
        .revoke_user_sessions(&user.id.to_string(), None)
        .await
        .unwrap();
    assert_eq!(all, vec![a.session_id.clone()]);
}

async fn sessions_checked_start_needs_the_same_credentials<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let token = RefreshToken::generate();
    let stale = new_session(&user, &token);
    assert!(!store.create_session_checked(&stale, "1").await.unwrap());
    assert!(
        store
            .live(stale.session_id.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let current = new_session(&user, &RefreshToken::generate());
    assert!(store.create_session_checked(&current, "0").await.unwrap());
}

async fn cookie_sessions<S: Shipped>(store: S) {
    let user = new_user(&store).await;
    let value = RefreshToken::generate();
    let session = NewCookieSession {
        session_id: Uuid::new_v4().to_string(),
        user_id: user.id.to_string(),
        cookie: value.hash(),
        created_at_ms: now_ms(),
        expires_at_ms: now_ms() + 60_000,
        amr: vec!["pwd".into(), "otp".into()],
    };
    store.create_cookie_session(&session).await.unwrap();
    let (id, _, found) = store
        .cookie(value.hash().as_str())
        .await
        .unwrap()
        .expect("the cookie names a live session");
    assert_eq!(id.to_string(), session.session_id);
    assert_eq!(found.id, user.id);
    assert_eq!(found.amr, vec!["pwd".to_owned(), "otp".to_owned()]);
    assert!(
        store
            .cookie(RefreshToken::generate().hash().as_str())
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.revoke_session(&session.session_id).await.unwrap());
    assert!(store.cookie(value.hash().as_str()).await.unwrap().is_none());
}

async fn throttle_counts_clears_and_expires<S: Shipped>(store: S) {
    let store = store.with_throttle(2, Duration::from_secs(2));
    let email = email();
    assert_eq!(
        store.register_attempt(&email).await.unwrap(),
        Attempt::Allowed
    );
    assert_eq!(
        store.register_attempt(&email).await.unwrap(),
        Attempt::Allowed
    );
    assert!(matches!(
        store.register_attempt(&email).await.unwrap(),
        Attempt::Throttled { retry_after } if retry_after <= Duration::from_secs(2)
    ));
    assert_eq!(
        store.register_attempt(&self::email()).await.unwrap(),
        Attempt::Allowed,
        "another account"
    );
    store.clear(&email).await.unwrap();
    assert_eq!(
        store.register_attempt(&email).await.unwrap(),
        Attempt::Allowed
    );
    assert_eq!(
        store.register_attempt(&email).await.unwrap(),
        Attempt::Allowed
    );
    // Windowed: once the window has run out, counting starts again (whole seconds).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        store.register_attempt(&email).await.unwrap(),
        Attempt::Allowed
    );
}

macro_rules! suite {
    ($backend:ident, $make:expr, [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[actix_web::test]
                async fn $test() {
                    #[allow(unused_imports)]
                    use super::*;
                    let fixture = $make;
                    super::$test(fixture.store()).await;
                    fixture.finish().await;
                }
            )*
        }
    };
}

macro_rules! every_backend {
    ($($test:ident),* $(,)?) => {
        #[cfg(feature = "test-util")]
        suite!(memory, fixtures::Memory, [$($test),*]);
        #[cfg(feature = "sqlite")]
        suite!(sqlite, fixtures::Sqlite::create().await, [$($test),*]);
        #[cfg(feature = "postgres")]
        suite!(postgres, fixtures::Postgres::create().await, [$($test),*]);
    };
}

every_backend!(
    users_create_and_find,
    users_duplicate_email,
    users_rehash_is_compare_and_swap,
    sessions_start_refresh_revoke,
    sessions_unknown_and_expired_tokens_are_invalid,
    sessions_reuse_after_grace_revokes,
    sessions_reuse_within_grace_rotates,
    sessions_cap_unused_tokens,
    sessions_retry_at_the_cap_finds_its_replacement,
    sessions_revoke_all_but_one,
    sessions_checked_start_needs_the_same_credentials,
    cookie_sessions,
    throttle_counts_clears_and_expires,
);

/// PostgreSQL: the cap's count of a session's unused refresh tokens reads those alone, not every
/// token the session ever had (used ones stay for reuse detection, so a long-lived session's
/// refreshes would otherwise each read its whole history).
#[cfg(feature = "postgres")]
#[actix_web::test]
async fn postgres_the_cap_count_reads_only_unused_tokens() {
    use passport_actix::store::Database;
    use passport_actix::store::sqlx::Row;
    let fixture = fixtures::Postgres::create().await;
    let store = fixture.store();
    let sessions = Sessions::new(Arc::new(store.clone()));
    let user = new_user(&store).await;
    let login = sessions.start(&user.id.to_string()).await.unwrap();
    let mut presented = login.refresh_token;
    for _ in 0..40 {
        presented = sessions
            .refresh(presented.as_str())
            .await
            .unwrap()
            .0
            .refresh_token;
    }
    // Irrefutable when `sqlite` is off.
    #[allow(irrefutable_let_patterns)]
    let Database::Postgres(pool) = store.database() else {
        unreachable!("a PostgreSQL fixture");
    };
    let mut conn = pool.acquire().await.unwrap();
    // A table this small is cheapest read whole; the plan for a large one is the index's.
    passport_actix::store::sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    // The count as the rotation writes it (passport_rotate_refresh_token), for this session.
    let plan: Vec<String> = passport_actix::store::sqlx::query(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
         SELECT count(*) FROM refresh_tokens r
          WHERE r.session_id = $1 AND r.used_at IS NULL AND r.token_hash <> $2",
    )
    .bind(login.session_id.parse::<Uuid>().unwrap())
    .bind(presented.hash().as_str())
    .fetch_all(&mut *conn)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    let plan = plan.join("\n");
    assert!(
        plan.contains("refresh_tokens_unused_idx"),
        "the count goes through the index of unused tokens:\n{plan}"
    );
    let most_rows = plan
        .split("actual rows=")
        .skip(1)
        .map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().unwrap()
        })
        .max()
        .expect("EXPLAIN ANALYZE shows the rows of each step");
    assert!(
        most_rows <= 1,
        "no step of the count reads more than the one unused token of 41:\n{plan}"
    );
    drop(conn);
    fixture.finish().await;
}

/// PostgreSQL: a store call dropped before it ends (a request cancelled from outside) closes
/// its connection instead of giving it back to the pool. What a cut-off call leaves on a
/// connection cannot always be known: a `begin()` cut off while its `BEGIN` is in flight
/// queues no `ROLLBACK` in sqlx 0.8, and the connection would come back inside a transaction
/// that nobody ends, every later statement on it uncommitted.
#[cfg(feature = "postgres")]
#[actix_web::test]
async fn postgres_a_call_dropped_before_it_ends_closes_its_connection() {
    use passport_actix::store::SqlStore;
    use passport_actix::store::sqlx::{self, postgres::PgPoolOptions};
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin)
        .await
        .unwrap();
    let store = SqlStore::new(pool.clone());
    let backend = async || {
        passport_actix::__store_on_postgres!(&store, &pool, |conn| {
            sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()").fetch_one(&mut *conn)
        })
        .unwrap()
    };
    let first = backend().await;
    assert_eq!(
        backend().await,
        first,
        "a call that ends gives its connection back to the pool"
    );

    let cut_off = tokio::time::timeout(Duration::from_millis(100), async {
        passport_actix::__store_on_postgres!(&store, &pool, |conn| {
            sqlx::query("SELECT pg_sleep(0.5)").execute(&mut *conn)
        })
    })
    .await;
    assert!(cut_off.is_err(), "the call was cut off while it waited");
    assert_ne!(
        backend().await,
        first,
        "the cut-off call's connection must be closed, not reused"
    );
    pool.close().await;
}

mod fixtures {
    /// The in-memory store.
    #[cfg(feature = "test-util")]
    pub(crate) struct Memory;

    #[cfg(feature = "test-util")]
    impl Memory {
        pub(crate) fn store(&self) -> passport_actix::store::MemoryStore {
            passport_actix::store::MemoryStore::new()
        }
        pub(crate) async fn finish(self) {}
    }

    /// A SQLite file in a temporary folder of its own, migrated.
    #[cfg(feature = "sqlite")]
    pub(crate) struct Sqlite {
        store: passport_actix::store::SqlStore,
        dir: std::path::PathBuf,
    }

    #[cfg(feature = "sqlite")]
    impl Sqlite {
        pub(crate) async fn create() -> Self {
            use passport_actix::store::sqlx::sqlite::SqliteConnectOptions;
            let dir = std::env::temp_dir().join(format!(
                "passport-conformance-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let options = SqliteConnectOptions::new().filename(dir.join("store.db"));
            let pool =
                passport_actix::store::sqlite::open(options, 4, std::time::Duration::from_secs(5))
                    .await
                    .unwrap();
            passport_actix::store::migrate(&pool).await.unwrap();
            Self {
                store: passport_actix::store::SqlStore::new(pool),
                dir,
            }
        }
        pub(crate) fn store(&self) -> passport_actix::store::SqlStore {
            self.store.clone()
        }
        pub(crate) async fn finish(self) {
            // Irrefutable when `postgres` is off: the enum then has this one variant.
            #[allow(irrefutable_let_patterns)]
            if let passport_actix::store::Database::Sqlite(pool) = self.store.database() {
                pool.close().await;
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// A PostgreSQL database of its own, created from `TEST_DATABASE_URL`, migrated, dropped
    /// by [`finish`](Self::finish) (a failed test leaves it for `.ci/run`'s clean-up: its name
    /// carries `PASSPORT_TEST_RUN_ID`).
    #[cfg(feature = "postgres")]
    pub(crate) struct Postgres {
        store: passport_actix::store::SqlStore,
        admin: String,
        name: String,
    }

    #[cfg(feature = "postgres")]
    impl Postgres {
        pub(crate) async fn create() -> Self {
            use passport_actix::store::sqlx::{Connection, PgConnection, PgPool};
            let admin = std::env::var("TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let id = uuid::Uuid::new_v4().simple().to_string();
            let name = match std::env::var("PASSPORT_TEST_RUN_ID") {
                Ok(run)
                    if (1..=16).contains(&run.len())
                        && run
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
                {
                    format!("passport_test_{run}_{}", &id[..16])
                }
                _ => format!("passport_test_{id}"),
            };
            let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL is required by the conformance tests and is not reachable at {admin}: {e}")
            });
            passport_actix::store::sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("TEST_DATABASE_URL must end with /<database>"),
            };
            let pool = PgPool::connect(&url).await.unwrap();
            passport_actix::store::migrate(&pool).await.unwrap();
            Self {
                store: passport_actix::store::SqlStore::new(pool),
                admin,
                name,
            }
        }
        pub(crate) fn store(&self) -> passport_actix::store::SqlStore {
            self.store.clone()
        }
        pub(crate) async fn finish(self) {
            use passport_actix::store::sqlx::{Connection, PgConnection};
            // Irrefutable when `sqlite` is off: the enum then has this one variant.
            #[allow(irrefutable_let_patterns)]
            if let passport_actix::store::Database::Postgres(pool) = self.store.database() {
                pool.close().await;
            }
            let mut conn = PgConnection::connect(&self.admin).await.unwrap();
            passport_actix::store::sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}
