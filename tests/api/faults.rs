//! PostgreSQL faults: a TCP proxy the test controls sits between the server and the database
//! and is cut (connections closed, new ones dropped) or hung (a partition: bytes held).
//! The server must answer `503 service_unavailable` in bounded time, never hand out the
//! profile for a token it could not check, keep `/health` up, recover by itself, and never
//! acknowledge a signup it did not store.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use passport_e2e::passport_server::configuration::Settings;
use passport_e2e::passport_server::startup::Application;
use passport_e2e::{Backend, Captured, TcpProxy, TestApp, TestDatabase, test_env};
use tokio::task::JoinSet;

/// `DATABASE_TIMEOUT_SECONDS` of these tests.
const DATABASE_TIMEOUT_SECONDS: u64 = 2;
/// The bound on every answer while the database is down: comfortably above the 2 s timeout,
/// far below "waits until the database is back". A bound on behaviour, not a benchmark.
const ANSWER_BOUND: Duration = Duration::from_secs(10);
/// How long the server may take to notice that the database is back.
const RECOVERY_BOUND: Duration = Duration::from_secs(15);

const PASSWORD: &str = "correct horse battery";

/// A server on a fresh PostgreSQL database that it reaches only through a proxy.
async fn spawn_behind_proxy() -> (TestApp, TcpProxy) {
    let proxy = TcpProxy::to_postgres().await;
    let db = TestDatabase::create(Backend::Postgres).await;
    let mut env = test_env(&db.url_through(&proxy));
    env.insert(
        "DATABASE_TIMEOUT_SECONDS".into(),
        DATABASE_TIMEOUT_SECONDS.to_string(),
    );
    let app = TestApp::spawn_on(db, env).await;
    assert!(
        proxy.connections_accepted() > 0,
        "the server must reach PostgreSQL through the proxy"
    );
    (app, proxy)
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

/// Awaits an answer, failing the test if none comes within [`ANSWER_BOUND`].
async fn within(
    what: &str,
    request: impl Future<Output = reqwest::Response>,
) -> (Captured, Duration) {
    let start = Instant::now();
    let response = tokio::time::timeout(ANSWER_BOUND, request)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {ANSWER_BOUND:?}"));
    let captured = Captured::from(response).await;
    let elapsed = start.elapsed();
    assert!(elapsed < ANSWER_BOUND, "{what}: answered after {elapsed:?}");
    (captured, elapsed)
}

fn assert_unavailable(what: &str, (response, elapsed): &(Captured, Duration)) {
    assert_ne!(
        response.status, 200,
        "{what}: a request the database could not check must never succeed"
    );
    assert!(response.status != 201, "{what}: {}", response.body);
    assert_eq!(
        response.status, 503,
        "{what} after {elapsed:?}: {}",
        response.body
    );
    response.assert_error(503, "service_unavailable");
    assert!(
        !response.body.contains("token\""),
        "{what}: {}",
        response.body
    );
}

/// Polls `/ready` until it answers 200; panics after [`RECOVERY_BOUND`].
async fn wait_until_ready(app: &TestApp) -> Duration {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < RECOVERY_BOUND {
        match app
            .client
            .get(app.url("/ready"))
            .timeout(ANSWER_BOUND)
            .send()
            .await
        {
            Ok(response) if response.status() == 200 => return start.elapsed(),
            Ok(response) => {
                last = format!(
                    "{} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                )
            }
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "the server did not become ready within {RECOVERY_BOUND:?} of the database's return; last answer: {last}"
    );
}

/// After recovery, the whole flow works again with no restart, old tokens included.
async fn assert_everything_works(app: &TestApp, old_email: &str, old_token: &str) {
    assert_eq!(
        app.signup("after@example.com", PASSWORD).await.status(),
        201
    );
    assert_eq!(app.login("after@example.com", PASSWORD).await.status(), 200);
    assert_eq!(app.login(old_email, PASSWORD).await.status(), 200);
    let profile = Captured::from(app.profile_with_bearer(old_token).await).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.json()["user"]["email"], old_email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_cut_signup_login_and_profile_answer_503_in_bounded_time() {
    let (app, proxy) = spawn_behind_proxy().await;
    let token = app.token_for("before@example.com", PASSWORD).await;
    proxy.cut();

    assert_unavailable(
        "signup",
        &within("signup", app.signup("during@example.com", PASSWORD)).await,
    );
    assert_unavailable(
        "login with the right password",
        &within("login", app.login("before@example.com", PASSWORD)).await,
    );
    assert_unavailable(
        "login with a wrong password",
        &within("login", app.login("before@example.com", "wrong horse!")).await,
    );
    assert_unavailable(
        "login of an unknown email",
        &within("login", app.login("nobody@example.com", PASSWORD)).await,
    );
    // A valid token whose user cannot be looked up is not good enough: not once, on neither
    // transport.
    for attempt in 0..3 {
        let query = within("profile", app.profile_with_query(&token)).await;
        assert_unavailable(
            &format!("profile with ?secret_token, attempt {attempt}"),
            &query,
        );
        let bearer = within("profile", app.profile_with_bearer(&token)).await;
        assert_unavailable(
            &format!("profile with a bearer token, attempt {attempt}"),
            &bearer,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_cut_ready_is_503_and_health_stays_200() {
    let (app, proxy) = spawn_behind_proxy().await;
    let (ready, _) = within("ready", get(&app, "/ready")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    proxy.cut();
    let ready = within("ready", get(&app, "/ready")).await;
    assert_unavailable("ready", &ready);
    let (health, _) = within("health", get(&app, "/health")).await;
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(health.json()["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cut_the_server_recovers_by_itself_without_a_restart() {
    let (app, proxy) = spawn_behind_proxy().await;
    let token = app.token_for("before@example.com", PASSWORD).await;
    proxy.cut();
    // Let every pooled connection meet the cut.
    for _ in 0..3 {
        assert_unavailable(
            "profile",
            &within("profile", app.profile_with_bearer(&token)).await,
        );
        assert_unavailable("ready", &within("ready", get(&app, "/ready")).await);
    }
    proxy.restore();
    wait_until_ready(&app).await;
    assert_everything_works(&app, "before@example.com", &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_hangs_requests_give_up_with_503_in_time_and_the_server_recovers_after()
{
    let (app, proxy) = spawn_behind_proxy().await;
    let token = app.token_for("before@example.com", PASSWORD).await;
    proxy.hang();

    // All at once: each waits for the database timeout (2 s), not for each other.
    let (signup, login, query, bearer, ready, health) = tokio::join!(
        within("signup", app.signup("during@example.com", PASSWORD)),
        within("login", app.login("before@example.com", PASSWORD)),
        within("profile", app.profile_with_query(&token)),
        within("profile", app.profile_with_bearer(&token)),
        within("ready", get(&app, "/ready")),
        within("health", get(&app, "/health")),
    );
    eprintln!(
        "while hung, answered after: {:?}",
        [signup.1, login.1, query.1, bearer.1, ready.1, health.1]
    );
    assert_unavailable("signup", &signup);
    assert_unavailable("login with the right password", &login);
    assert_unavailable("profile with ?secret_token", &query);
    assert_unavailable("profile with a bearer token", &bearer);
    assert_unavailable("ready", &ready);
    assert_eq!(health.0.status, 200, "{}", health.0.body);
    // Liveness must not wait on the database at all: faster than the database timeout.
    assert!(
        health.1 < Duration::from_secs(DATABASE_TIMEOUT_SECONDS),
        "health took {:?}",
        health.1
    );

    proxy.restore();
    wait_until_ready(&app).await;
    assert_everything_works(&app, "before@example.com", &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signup_answered_201_before_during_and_after_outages_is_in_the_database() {
    let (app, proxy) = spawn_behind_proxy().await;
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    // 0 before, 1 cut, 2 after the cut, 3 hung, 4 after the hang.
    let phase = Arc::new(AtomicU8::new(0));
    let mut writers = JoinSet::new();
    for writer in 0..4 {
        let (app, stop, phase) = (Arc::clone(&app), Arc::clone(&stop), Arc::clone(&phase));
        writers.spawn(async move {
            let mut answers = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let email = format!("writer{writer}-{i}@example.com");
                let started_in = phase.load(Ordering::SeqCst);
                let (response, _) = within("signup", app.signup(&email, PASSWORD)).await;
                answers.push((email, started_in, response.status));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answers
        });
    }
    let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
    sleep(500).await;
    phase.store(1, Ordering::SeqCst);
    proxy.cut();
    sleep(1000).await;
    proxy.restore();
    wait_until_ready(&app).await;
    phase.store(2, Ordering::SeqCst);
    sleep(500).await;
    phase.store(3, Ordering::SeqCst);
    proxy.hang();
    sleep(2500).await;
    proxy.restore();
    wait_until_ready(&app).await;
    phase.store(4, Ordering::SeqCst);
    sleep(500).await;
    stop.store(true, Ordering::SeqCst);
    let answers: Vec<(String, u8, u16)> = writers.join_all().await.concat();

    let count = |status: u16| answers.iter().filter(|(_, _, s)| *s == status).count();
    eprintln!(
        "signups: {} answered 201, {} answered 503",
        count(201),
        count(503)
    );
    let odd: Vec<_> = answers
        .iter()
        .filter(|(_, _, status)| ![201, 503].contains(status))
        .collect();
    assert!(
        odd.is_empty(),
        "signups of fresh emails answer 201 or 503, nothing else: {odd:?}"
    );
    let created_in = |p: u8| {
        answers
            .iter()
            .filter(|(_, phase, status)| *phase == p && *status == 201)
            .count()
    };
    for p in [0, 2, 4] {
        assert!(
            created_in(p) > 0,
            "signups succeed in phase {p} (when the database is up)"
        );
    }
    assert!(
        answers.iter().any(|(_, _, status)| *status == 503),
        "the outages must have hit some signups"
    );

    let pool = app.db.pool().await;
    let stored: HashSet<String> = sqlx::query_scalar("SELECT email FROM users")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let acknowledged: Vec<&String> = answers
        .iter()
        .filter(|(_, _, s)| *s == 201)
        .map(|(e, _, _)| e)
        .collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|e| !stored.contains(e.as_str()))
        .collect();
    assert!(lost.is_empty(), "answered 201 but not stored: {lost:?}");
    assert!(
        stored.len() >= acknowledged.len(),
        "{} rows for {} 201s",
        stored.len(),
        acknowledged.len()
    );
    // A row without a 201 is possible only for an answer of 503 (the outcome was unknown).
    let attempted: HashSet<&String> = answers.iter().map(|(e, _, _)| e).collect();
    let strays: Vec<_> = stored.iter().filter(|e| !attempted.contains(e)).collect();
    assert!(strays.is_empty(), "rows nobody signed up for: {strays:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_on_a_port_already_in_use_fails_with_a_clear_error_naming_bind_addr() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let db = TestDatabase::create(Backend::Sqlite).await;
    let mut env = test_env(&db.url);
    env.insert("BIND_ADDR".into(), addr.to_string());
    let Err(message) = passport_e2e::TestInstance::try_start(env).await else {
        panic!("the server started on {addr}, which another socket listens on");
    };
    assert!(
        message.contains(&format!("cannot listen on BIND_ADDR={addr}")),
        "{message}"
    );
    assert!(message.contains("in use"), "{message}");
    drop(taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_without_a_reachable_postgres_fails_in_bounded_time_with_a_clear_error() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let cut = TcpProxy::to_postgres().await;
    cut.cut();
    let hung = TcpProxy::to_postgres().await;
    hung.hang();
    let targets = [
        ("a closed port", closed_port),
        ("a peer that closes every connection", cut.addr().port()),
        ("a peer that never answers", hung.addr().port()),
    ];
    for (what, port) in targets {
        let url =
            format!("postgres://postgres:db-password-never-printed@127.0.0.1:{port}/passport");
        let mut env = test_env(&url);
        env.insert(
            "DATABASE_TIMEOUT_SECONDS".into(),
            DATABASE_TIMEOUT_SECONDS.to_string(),
        );
        let settings = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
        let start = Instant::now();
        let built = tokio::time::timeout(ANSWER_BOUND, Application::build(settings))
            .await
            .unwrap_or_else(|_| {
                panic!("{what}: Application::build still waiting after {ANSWER_BOUND:?}")
            });
        let error = match built {
            Ok(_) => panic!("{what}: the server started without a database"),
            Err(error) => error,
        };
        let message = format!("{error:#}");
        assert!(
            message.contains("PostgreSQL"),
            "{what}: the error should name PostgreSQL: {message}"
        );
        assert!(
            message.contains("DATABASE_URL"),
            "{what}: the error should name DATABASE_URL: {message}"
        );
        assert!(
            !format!("{message} {error:?}").contains("db-password-never-printed"),
            "{what}: {message}"
        );
        assert!(
            start.elapsed() < ANSWER_BOUND,
            "{what}: {:?}",
            start.elapsed()
        );
        eprintln!(
            "{what}: refused to start after {:?}: {message}",
            start.elapsed()
        );
    }
}

/// A database hang during refresh and logout: `503` in bounded time, and nothing half-done —
/// after the heal the same refresh token still works (the rotation either happened, inside
/// the reuse grace, or did not happen at all), and the session was not revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_hang_during_refresh_and_logout_is_503_and_leaves_nothing_half_done() {
    let (app, proxy) = spawn_behind_proxy().await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let token = login["token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    proxy.hang();
    // Past the liveness cache's trust window: every answer now needs the database.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (refreshed, _) = within("refresh", app.refresh_response(&refresh)).await;
    refreshed.assert_error(503, "service_unavailable");
    let (logout, _) = within("logout", async {
        app.client
            .post(app.url("/logout"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
    })
    .await;
    logout.assert_error(503, "service_unavailable");
    proxy.restore();
    wait_until_ready(&app).await;
    let again = app.refresh(&refresh).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        app.profile_status(&token).await,
        200,
        "the session was not revoked"
    );
}

/// Signs up `n` users at once, so the pool holds several connections.
async fn warm_the_pool(app: &TestApp, prefix: &str, n: usize) {
    let signups = (0..n).map(|i| {
        let email = format!("{prefix}{i}@example.com");
        async move { app.signup(&email, PASSWORD).await.status() }
    });
    for status in futures_util::future::join_all(signups).await {
        assert_eq!(status, 201);
    }
}

/// How soon after a partition heals the server must answer again: a few database timeouts,
/// far below "never" (the pool used to keep every connection the partition killed).
const HEAL_BOUND: Duration = Duration::from_secs(3 * DATABASE_TIMEOUT_SECONDS);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_silent_partition_that_killed_every_pooled_connection_the_server_heals_within_seconds()
 {
    const POOL: usize = 4;
    let proxy = TcpProxy::to_postgres().await;
    let db = TestDatabase::create(Backend::Postgres).await;
    let mut env = test_env(&db.url_through(&proxy));
    env.insert(
        "DATABASE_TIMEOUT_SECONDS".into(),
        DATABASE_TIMEOUT_SECONDS.to_string(),
    );
    env.insert("DATABASE_MAX_CONNECTIONS".into(), POOL.to_string());
    let app = TestApp::spawn_on(db, env).await;
    warm_the_pool(&app, "warm", 2 * POOL).await;
    let token = app.token_for("before@example.com", PASSWORD).await;

    // The partition: every byte held, more requests in flight than the pool has connections.
    proxy.hang();
    let during = (0..2 * POOL).map(|i| {
        let app = &app;
        async move {
            let email = format!("during{i}@example.com");
            within("signup", app.signup(&email, PASSWORD)).await
        }
    });
    for answer in futures_util::future::join_all(during).await {
        assert_unavailable("signup during the partition", &answer);
    }
    assert_unavailable("ready", &within("ready", get(&app, "/ready")).await);

    // The network heals, but a NAT forgot every flow: the old connections stay silent for
    // good (no RST), new ones work. No restart.
    proxy.restore_dropping_existing();
    let healed = Instant::now();
    let took = wait_until_ready(&app).await;
    eprintln!("ready again {took:?} after the heal");
    assert!(took < HEAL_BOUND, "ready only {took:?} after the heal");
    // From then on everything works at once, however many dead connections the pool held.
    for i in 0..2 * POOL {
        let (ready, _) = within("ready", get(&app, "/ready")).await;
        assert_eq!(
            ready.status, 200,
            "ready #{i} after the heal: {}",
            ready.body
        );
        let (signup, _) = within(
            "signup",
            app.signup(&format!("after{i}@example.com"), PASSWORD),
        )
        .await;
        assert_eq!(
            signup.status, 201,
            "signup #{i} after the heal: {}",
            signup.body
        );
    }
    assert_everything_works(&app, "before@example.com", &token).await;
    eprintln!("everything worked {:?} after the heal", healed.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_every_database_backend_is_terminated_no_request_sees_a_503() {
    let app = TestApp::spawn(Backend::Postgres).await;
    warm_the_pool(&app, "warm", 8).await;
    let token = app.token_for("before@example.com", PASSWORD).await;
    let database = app
        .db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // A database restart as the pool sees it: every backend of this database is gone.
    let admin = passport_e2e::admin_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(!terminated.is_empty(), "the server had pooled connections");

    // Every request right after: the stale connections are retried, never shown to users.
    for i in 0..6 {
        let email = format!("after{i}@example.com");
        let (signup, login, profile, ready) = tokio::join!(
            within("signup", app.signup(&email, PASSWORD)),
            within("login", app.login("before@example.com", PASSWORD)),
            within("profile", app.profile_with_bearer(&token)),
            within("ready", get(&app, "/ready")),
        );
        assert_eq!(signup.0.status, 201, "signup #{i}: {}", signup.0.body);
        assert_eq!(login.0.status, 200, "login #{i}: {}", login.0.body);
        assert_eq!(profile.0.status, 200, "profile #{i}: {}", profile.0.body);
        assert_eq!(ready.0.status, 200, "ready #{i}: {}", ready.0.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signup_answered_503_during_a_hang_is_not_written_when_the_database_comes_back() {
    let (app, proxy) = spawn_behind_proxy().await;
    warm_the_pool(&app, "warm", 2).await;
    proxy.hang();
    let (signup, _) = within("signup", app.signup("limbo@example.com", PASSWORD)).await;
    signup.assert_error(503, "service_unavailable");
    // The held statement reaches the database well after the client was told 503.
    tokio::time::sleep(Duration::from_secs(DATABASE_TIMEOUT_SECONDS)).await;
    proxy.restore();
    wait_until_ready(&app).await;
    // Give the held bytes every chance to be executed.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let pool = app.db.pool().await;
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = 'limbo@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rows, 0, "a 503 means nothing was written");
    // So the client's retry simply works.
    assert_eq!(
        app.signup("limbo@example.com", PASSWORD).await.status(),
        201
    );
}

/// Migrations are not requests: one that waits longer than `DATABASE_TIMEOUT_SECONDS` (here
/// on a lock, as when another instance is migrating or an index is built on a big table) is
/// waited for, not cancelled by the requests' statement timeout, and the server starts.
#[tokio::test]
async fn a_migration_step_slower_than_the_request_timeout_still_lets_the_server_start() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut locker = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    // Held for twice the second instance's timeout, then released.
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2 * DATABASE_TIMEOUT_SECONDS)).await;
        sqlx::query("COMMIT").execute(&mut locker).await.unwrap();
    });
    let mut env = test_env(&app.db.url);
    env.insert(
        "DATABASE_TIMEOUT_SECONDS".into(),
        DATABASE_TIMEOUT_SECONDS.to_string(),
    );
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
    let started = Application::build(settings).await;
    release.await.unwrap();
    let second = match started {
        Ok(second) => second,
        Err(e) => panic!("the server must wait for the migration lock, not give up: {e:#}"),
    };
    let handle = second.handle();
    let port = second.port();
    tokio::spawn(second.run_until_stopped());
    let health = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    handle.stop(true).await;
}

/// The pool's check on a returned connection (`settle_on_release`): a connection that owes no
/// reply — after every call that got its answer — is kept at once, without sending a byte, so
/// each use of a pooled connection costs one round trip less than a ping here did (sqlx pings
/// the connection itself right after). Even a network that carries nothing cannot hold it up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_connection_that_owes_no_reply_is_kept_without_a_round_trip() {
    use passport_actix::store::postgres::settle_on_release;
    use sqlx::Connection;

    let proxy = TcpProxy::to_postgres().await;
    let url = passport_e2e::with_host_port(&passport_e2e::admin_url(), proxy.addr());
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);

    let sent = proxy.bytes_up();
    let kept = settle_on_release(&mut conn, Duration::from_secs(2)).await;
    assert!(
        matches!(kept, Ok(true)),
        "a live, idle connection is kept: {kept:?}"
    );
    assert_eq!(
        proxy.bytes_up(),
        sent,
        "nothing may be sent for a connection that owes no reply"
    );

    // A round trip now would never come back; the check needs none.
    proxy.hang();
    let kept = settle_on_release(&mut conn, Duration::from_secs(2)).await;
    assert!(
        matches!(kept, Ok(true)),
        "the check must not wait on the network for a connection that owes nothing: {kept:?}"
    );
    proxy.restore();
}

/// A call cancelled from outside while its reply is lost to a silent partition (a request
/// dropped mid-query, an audit write past its own deadline) returns a connection that owes a
/// reply that never comes. sqlx's own check on return waits for it without a time limit; the
/// pool's check gives up after its bound and closes the connection, so the slot comes back.
/// Without it, this pool of one stays stuck until the TCP timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_returned_mid_call_during_a_silent_partition_frees_its_pool_slot_in_time() {
    use passport_actix::store::postgres::settle_on_release;
    use sqlx::postgres::PgPoolOptions;

    let proxy = TcpProxy::to_postgres().await;
    let url = passport_e2e::with_host_port(&passport_e2e::admin_url(), proxy.addr());
    let bound = Duration::from_millis(300);
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .after_release(move |conn, _meta| Box::pin(settle_on_release(conn, bound)))
        .connect(&url)
        .await
        .unwrap();
    sqlx::query("SELECT 1").execute(&pool).await.unwrap();
    let accepted = proxy.connections_accepted();

    proxy.silence_existing_after_their_next_query();
    // Long enough for the query to be sent (the trap then holds its reply for good).
    let cancelled = tokio::time::timeout(
        Duration::from_secs(1),
        sqlx::query("SELECT 2").execute(&pool),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "the silenced connection cannot have answered: {cancelled:?}"
    );

    let answer = tokio::time::timeout(
        ANSWER_BOUND,
        sqlx::query_scalar::<_, i32>("SELECT 3").fetch_one(&pool),
    )
    .await
    .expect("the pool's only slot stayed held by a connection that will never answer")
    .unwrap();
    assert_eq!(answer, 3);
    assert!(
        proxy.connections_accepted() > accepted,
        "a new connection must have replaced the silenced one"
    );
}
