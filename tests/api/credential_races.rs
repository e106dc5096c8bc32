//! Security round 3 (issue 20), defects 1 and 2: a login that checked the old password while
//! a password change committed must neither undo the change (the rehash is a compare-and-swap
//! on the verified hash) nor get a session (the session insert is conditional on the
//! credentials version the login checked). The interleaving is made deterministic by holding
//! the one thread of the attacker instance's own hashing pool: the login has read the old
//! hash and waits for its verification while the victim's change commits on another instance.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use passport_actix::BlockingPool;
use passport_e2e::{Backend, TestApp, TestInstance, on_both_backends, test_env};
use serde_json::json;
use sqlx::Row;

on_both_backends!(
    a_login_that_read_the_old_hash_never_undoes_a_password_change_by_rehashing,
    a_login_that_checked_the_old_password_gets_no_session_after_the_change,
);

const OLD: &str = "correct horse battery";
const NEW: &str = "a brand new passphrase";
const EMAIL: &str = "victim@example.com";

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

/// Returns once a task waits in `pool`'s queue (a login that has read the stored hash).
async fn wait_until_queued(pool: &BlockingPool) {
    let start = Instant::now();
    while pool.queued() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the login never reached the hashing queue"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The race: the attacker logs in with the old password on an instance whose hashing thread
/// is held; once that login has read the old hash, the victim changes the password on
/// another instance; then the held login goes on. Returns the held login's status.
async fn race(
    app: &TestApp,
    attacker_env: impl FnOnce(&mut std::collections::HashMap<String, String>),
) -> u16 {
    let victim = app.token_for(EMAIL, OLD).await; // signs up and logs in
    let pool = BlockingPool::new(NonZeroUsize::MIN);
    let mut env = test_env(&app.db.url);
    attacker_env(&mut env);
    let attacker = TestInstance::start_hashing_on(env, pool.clone()).await;

    let release = hold_the_only_thread(&pool).await;
    let login = {
        let request = attacker
            .client
            .post(attacker.url("/login"))
            .json(&json!({ "email": EMAIL, "password": OLD }));
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    };
    wait_until_queued(&pool).await;
    let change = app
        .client
        .post(app.url("/user/password"))
        .bearer_auth(&victim)
        .json(&json!({ "current_password": OLD, "new_password": NEW }))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 204, "the victim's change goes through");
    release.send(()).unwrap();
    let status = login.await.unwrap();
    attacker.stop().await;
    status
}

async fn a_login_that_read_the_old_hash_never_undoes_a_password_change_by_rehashing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await; // BCRYPT_COST=4
    // The attacker's instance runs with a raised cost: its logins rehash (needs_rehash).
    let status = race(&app, |env| {
        env.insert("BCRYPT_COST".into(), "5".into());
    })
    .await;
    assert_eq!(
        app.login(EMAIL, NEW).await.status(),
        200,
        "the victim's new password still works: no hash of the old one was written over it"
    );
    assert_eq!(
        status, 401,
        "the login checked a password that is no longer the user's"
    );
    assert_eq!(
        app.login(EMAIL, OLD).await.status(),
        401,
        "the old password is gone"
    );
}

async fn a_login_that_checked_the_old_password_gets_no_session_after_the_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let status = race(&app, |_| {}).await; // same cost: no rehash, only the session insert
    assert_eq!(
        status, 401,
        "no session for a password check the change overtook"
    );
    let pool = app.db.pool().await;
    let live = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE revoked_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        live.get::<i64, _>("n"),
        1,
        "only the victim's own session (the one that changed the password) is live"
    );
    assert_eq!(app.login(EMAIL, NEW).await.status(), 200);
}
