//! Per-address rate limits (`RATE_LIMIT_PER_MINUTE`, `TRUSTED_PROXIES`) and the per-account
//! login throttle shared by every instance on one database.

use passport_e2e::{Backend, Captured, TestApp, on_both_backends};
use serde_json::json;

on_both_backends!(the_sixth_login_from_one_address_within_a_minute_is_429_with_retry_after);

fn five_per_minute(env: &mut std::collections::HashMap<String, String>) {
    env.insert("RATE_LIMIT_PER_MINUTE".into(), "5".into());
}

/// Asserts a per-address 429: JSON body, `Retry-After` within the minute.
fn assert_rate_limited(response: &Captured) {
    response.assert_error(429, "rate_limited");
    let retry_after = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {}", response.body));
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not seconds: {retry_after}"));
    assert!((1..=60).contains(&seconds), "Retry-After: {seconds}");
    assert!(!response.body.contains("token"), "{}", response.body);
}

async fn login_with_forwarded_for(app: &TestApp, email: &str, forwarded_for: &str) -> Captured {
    let response = app
        .client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": email, "password": "wrong horse battery" }))
        .send()
        .await
        .unwrap();
    Captured::from(response).await
}

async fn the_sixth_login_from_one_address_within_a_minute_is_429_with_retry_after(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, five_per_minute).await;
    assert_eq!(
        app.signup("limited@example.com", "correct horse battery")
            .await
            .status(),
        201
    );
    // Distinct emails, so that the per-account throttle plays no part.
    for i in 0..5 {
        let status = app
            .login(&format!("someone{i}@example.com"), "wrong horse battery")
            .await
            .status();
        assert_eq!(status, 401, "request {} is within the budget", i + 1);
    }
    let sixth = Captured::from(
        app.login("limited@example.com", "correct horse battery")
            .await,
    )
    .await;
    assert_rate_limited(&sixth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_is_limited_per_address_too_and_a_refused_signup_creates_nobody() {
    let app = TestApp::spawn_with(Backend::Sqlite, five_per_minute).await;
    for i in 0..5 {
        assert_eq!(
            app.signup(&format!("new{i}@example.com"), "correct horse battery")
                .await
                .status(),
            201
        );
    }
    let sixth = Captured::from(
        app.signup("sixth@example.com", "correct horse battery")
            .await,
    )
    .await;
    assert_rate_limited(&sixth);
    let form = Captured::from(
        app.post_form(
            "/signup",
            &[("email", "form@example.com"), ("password", "x")],
        )
        .await,
    )
    .await;
    assert_rate_limited(&form);

    let pool = app.db.pool().await;
    let rows: Vec<String> = sqlx::query_scalar("SELECT email FROM users ORDER BY email")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(!rows.iter().any(|e| e == "sixth@example.com"), "{rows:?}");
    // `.env.example`: the limit applies "to /signup, and separately to /login".
    assert_eq!(
        app.login("new0@example.com", "correct horse battery")
            .await
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_x_forwarded_for_from_an_untrusted_peer_does_not_reset_the_limit() {
    let app = TestApp::spawn_with(Backend::Sqlite, five_per_minute).await;
    let mut statuses = Vec::new();
    for i in 0..10 {
        let forged = format!("203.0.113.{}", i + 1);
        let response =
            login_with_forwarded_for(&app, &format!("forger{i}@example.com"), &forged).await;
        if response.status == 429 {
            assert_rate_limited(&response);
        }
        statuses.push(response.status);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 429, 429, 429, 429, 429],
        "the header is not believed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    let app = TestApp::spawn_with(Backend::Sqlite, |env| {
        five_per_minute(env);
        env.insert("TRUSTED_PROXIES".into(), "127.0.0.1".into());
    })
    .await;
    let alice = "198.51.100.1";
    let bob = "198.51.100.2";
    for i in 0..5 {
        let response =
            login_with_forwarded_for(&app, &format!("alice{i}@example.com"), alice).await;
        assert_eq!(
            response.status,
            401,
            "alice's request {}: {}",
            i + 1,
            response.body
        );
    }
    assert_rate_limited(&login_with_forwarded_for(&app, "alice@example.com", alice).await);

    // The right-most address that is not a trusted proxy is the client: whatever alice
    // prepends, and however many trusted hops follow, it is still alice.
    for chain in [
        format!("192.0.2.77, {alice}"),
        format!("{bob}, {alice}"),
        format!("{alice}, 127.0.0.1"),
        format!("10.9.8.7, {alice}, 127.0.0.1"),
    ] {
        let response = login_with_forwarded_for(&app, "alice@example.com", &chain).await;
        assert_eq!(
            response.status, 429,
            "X-Forwarded-For: {chain}: {}",
            response.body
        );
    }

    // Bob, behind the same proxy, has a budget of his own.
    for i in 0..5 {
        let response = login_with_forwarded_for(
            &app,
            &format!("bob{i}@example.com"),
            &format!("{alice}, {bob}"),
        )
        .await;
        assert_eq!(
            response.status,
            401,
            "bob's request {}: {}",
            i + 1,
            response.body
        );
    }
    assert_rate_limited(&login_with_forwarded_for(&app, "bob@example.com", bob).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_enforce_one_per_account_limit() {
    let max_failures = |env: &mut std::collections::HashMap<String, String>| {
        env.insert("LOGIN_MAX_FAILURES".into(), "4".into());
    };
    let first = TestApp::spawn_with(Backend::Postgres, max_failures).await;
    let second = first.spawn_sharing(max_failures).await;
    assert_eq!(
        first
            .signup("shared@example.com", "correct horse battery")
            .await
            .status(),
        201
    );
    assert_eq!(
        second
            .login("shared@example.com", "correct horse battery")
            .await
            .status(),
        200,
        "the second instance sees the first one's users"
    );

    for attempt in 1..=4 {
        let status = if attempt % 2 == 1 {
            first
                .login("shared@example.com", "wrong horse battery")
                .await
                .status()
        } else {
            second
                .login("shared@example.com", "wrong horse battery")
                .await
                .status()
        };
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let fifth = Captured::from(
        first
            .login("shared@example.com", "correct horse battery")
            .await,
    )
    .await;
    fifth.assert_error(429, "too_many_attempts");
    let on_second = Captured::from(
        second
            .login("shared@example.com", "correct horse battery")
            .await,
    )
    .await;
    on_second.assert_error(429, "too_many_attempts");
    assert!(on_second.header("retry-after").is_some());
    drop(second);
}
