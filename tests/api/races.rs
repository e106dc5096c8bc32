//! Concurrency: duplicate signups and parallel password guesses must be decided by the
//! database atomically, never by a check-then-act in the application.

use std::sync::Arc;

use passport_e2e::{Backend, TestApp, on_both_backends};
use sqlx::Row;
use tokio::task::JoinSet;

on_both_backends!(
    fifty_concurrent_signups_of_one_email_in_mixed_case_create_exactly_one_user,
    fifty_concurrent_signups_of_distinct_emails_all_succeed,
    concurrent_wrong_passwords_never_get_more_guesses_than_the_limit,
);

/// Fires `n` requests at once (each built by `send(i)`) and returns their statuses.
async fn all_at_once<F, Fut>(n: usize, send: F) -> Vec<u16>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = reqwest::Response> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let request = send(i);
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            request.await.status().as_u16()
        });
    }
    tasks.join_all().await
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

/// `Race@Example.com` with the case of each letter picked by the bits of `i`.
fn mixed_case(email: &str, i: usize) -> String {
    email
        .chars()
        .enumerate()
        .map(|(k, c)| {
            if (i >> (k % 16)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

async fn fifty_concurrent_signups_of_one_email_in_mixed_case_create_exactly_one_user(
    backend: Backend,
) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let statuses = all_at_once(50, |i| {
        let app = Arc::clone(&app);
        let email = mixed_case("race.condition@example.com", i * 7919);
        async move { app.signup(&email, "correct horse battery").await }
    })
    .await;
    assert!(
        statuses.iter().all(|&s| s < 500),
        "no request may fail with a 5xx: {statuses:?}"
    );
    assert_eq!(
        count(&statuses, 201),
        1,
        "exactly one signup wins: {statuses:?}"
    );
    assert_eq!(
        count(&statuses, 409),
        49,
        "every other one is a duplicate: {statuses:?}"
    );

    let pool = app.db.pool().await;
    let rows = sqlx::query(
        "SELECT COUNT(*) AS n FROM users WHERE lower(email) = 'race.condition@example.com'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows.get::<i64, _>("n"), 1);
    let all = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(all.get::<i64, _>("n"), 1);
}

async fn fifty_concurrent_signups_of_distinct_emails_all_succeed(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let statuses = all_at_once(50, |i| {
        let app = Arc::clone(&app);
        async move {
            app.signup(&format!("crowd{i}@example.com"), "correct horse battery")
                .await
        }
    })
    .await;
    assert_eq!(
        count(&statuses, 201),
        50,
        "concurrent writers must not fail each other: {statuses:?}"
    );
    let pool = app.db.pool().await;
    let all = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(all.get::<i64, _>("n"), 50);
}

async fn concurrent_wrong_passwords_never_get_more_guesses_than_the_limit(backend: Backend) {
    let app = Arc::new(
        TestApp::spawn_with(backend, |env| {
            env.insert("LOGIN_MAX_FAILURES".into(), "5".into());
        })
        .await,
    );
    assert_eq!(
        app.signup("target@example.com", "correct horse battery")
            .await
            .status(),
        201
    );
    let statuses = all_at_once(30, |i| {
        let app = Arc::clone(&app);
        async move {
            app.login("target@example.com", &format!("guess number {i}"))
                .await
        }
    })
    .await;
    assert!(
        statuses.iter().all(|&s| s < 500),
        "no request may fail with a 5xx: {statuses:?}"
    );
    assert_eq!(
        count(&statuses, 401) + count(&statuses, 429),
        30,
        "only 401s and 429s: {statuses:?}"
    );
    // Attempts are counted atomically before any verification: exactly the first five were
    // verified (more would be a lost update letting extra guesses through, fewer a miscount).
    assert_eq!(count(&statuses, 401), 5, "{statuses:?}");
    assert_eq!(
        app.login("target@example.com", "correct horse battery")
            .await
            .status(),
        429,
        "still throttled"
    );
}
