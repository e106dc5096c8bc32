//! Security round 3 (issue 20, defect 5): one network flooding `/login` must not take every
//! hashing place. Under pressure a client key (IPv4 address, IPv6 /48) past its share (an
//! eighth of `HASH_QUEUE_LIMIT`) is refused, and a sixteenth is kept for re-authentication, so
//! an account owner can still change their password while logins fill the rest. Deterministic:
//! the one thread of the server's own hashing pool is held, so admitted work stays admitted.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use passport_actix::BlockingPool;
use passport_e2e::{TestApp, TestInstance, test_env};
use serde_json::json;

/// Occupies the one thread of `pool` until the returned sender is used.
async fn hold_the_only_thread(pool: &BlockingPool) -> std::sync::mpsc::Sender<()> {
    let (started, is_started) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let pool = pool.clone();
    tokio::spawn(async move {
        let _ = pool
            .run(move || {
                let _ = started.send(());
                released.recv()
            })
            .await;
    });
    is_started.await.unwrap();
    release
}

/// Returns once `n` tasks wait in `pool`'s queue.
async fn wait_until_queued(pool: &BlockingPool, n: usize) {
    let start = Instant::now();
    while pool.queued() < n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{n} tasks never reached the hashing queue ({} did)",
            pool.queued()
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A login from `client` (as the trusted proxy on loopback says), answered or not.
fn login_from(
    server: &TestInstance,
    client: &str,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static {
    server
        .client
        .post(server.url("/login"))
        .header("x-forwarded-for", client)
        .json(&json!({ "email": "someone@example.com", "password": "a wrong guess" }))
        .send()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_from_one_network_neither_takes_every_hashing_place_nor_locks_owners_out() {
    let app = TestApp::spawn(passport_e2e::Backend::Postgres).await;
    let owner = app
        .token_for("owner@example.com", "correct horse battery")
        .await;
    let pool = BlockingPool::new(NonZeroUsize::MIN);
    let mut env = test_env(&app.db.url);
    // 8 places: one kept for re-authentication; a client's share is one, so under pressure
    // (fewer than one normal place left beyond its own) a client past it is refused.
    env.insert("HASH_QUEUE_LIMIT".into(), "8".into());
    env.insert("TRUSTED_PROXIES".into(), "127.0.0.1/32".into());
    let server = TestInstance::start_hashing_on(env, pool.clone()).await;
    let release = hold_the_only_thread(&pool).await;

    // The flood from one /48 (many /64s) takes places while they are plentiful …
    let mut flood = Vec::new();
    for n in 1..=6 {
        flood.push(tokio::spawn(login_from(
            &server,
            &format!("2001:db8:aa:{n:x}::1"),
        )));
        wait_until_queued(&pool, n).await;
    }
    // … and is turned away at once when only the last normal place is left, which goes to
    // another client.
    for other in ["2001:db8:aa:1::2", "2001:db8:aa:ffff::9"] {
        let refused = tokio::time::timeout(Duration::from_secs(10), login_from(&server, other))
            .await
            .expect("a client past its share is answered at once, not queued")
            .unwrap();
        assert_eq!(refused.status(), 503, "{other}");
    }
    flood.push(tokio::spawn(login_from(&server, "203.0.113.5:5123")));
    wait_until_queued(&pool, 7).await;
    let full = tokio::time::timeout(Duration::from_secs(10), login_from(&server, "192.0.2.1"))
        .await
        .expect("answered at once")
        .unwrap();
    assert_eq!(full.status(), 503, "only the reserved place is left");
    // The account owner's password change (a re-authentication) takes the reserved place.
    let change = {
        let request = server
            .client
            .post(server.url("/user/password"))
            .bearer_auth(&owner)
            .json(&json!({ "current_password": "correct horse battery", "new_password": "a brand new passphrase" }));
        tokio::spawn(request.send())
    };
    wait_until_queued(&pool, 8).await;
    release.send(()).unwrap();
    assert_eq!(change.await.unwrap().unwrap().status(), 204);
    for login in flood {
        assert_eq!(login.await.unwrap().unwrap().status(), 401);
    }
    server.stop().await;
}
