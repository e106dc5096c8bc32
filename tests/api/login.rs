//! `POST /login`: no enumeration, throttling.

use passport_e2e::{Backend, Captured, TestApp, on_both_backends};

on_both_backends!(
    unknown_email_and_wrong_password_get_byte_identical_401s,
    a_throttled_account_is_refused_even_with_the_right_password,
    throttling_is_keyed_by_email_whether_or_not_it_exists,
    the_throttle_ends_by_itself,
    raising_bcrypt_cost_upgrades_a_users_hash_at_their_next_login,
);

async fn unknown_email_and_wrong_password_get_byte_identical_401s(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.signup("known@example.com", "correct horse")
            .await
            .status(),
        201
    );
    let wrong = Captured::from(app.login("known@example.com", "wrong horse!").await).await;
    let unknown = Captured::from(app.login("unknown@example.com", "correct horse").await).await;
    wrong.assert_error(401, "invalid_credentials");
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    let interesting = |c: &Captured| {
        let mut h: Vec<_> = c
            .headers
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| format!("{k}: {v:?}"))
            .collect();
        h.sort();
        h
    };
    assert_eq!(interesting(&wrong), interesting(&unknown));
}

async fn a_throttled_account_is_refused_even_with_the_right_password(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("LOGIN_MAX_FAILURES".into(), "3".into());
    })
    .await;
    assert_eq!(
        app.signup("victim@example.com", "correct horse")
            .await
            .status(),
        201
    );
    for _ in 0..3 {
        assert_eq!(
            app.login("victim@example.com", "wrong guess!")
                .await
                .status(),
            401
        );
    }
    let throttled = Captured::from(app.login("victim@example.com", "correct horse").await).await;
    throttled.assert_error(429, "too_many_attempts");
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert!(!throttled.body.contains("token"));
}

async fn throttling_is_keyed_by_email_whether_or_not_it_exists(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("LOGIN_MAX_FAILURES".into(), "2".into());
    })
    .await;
    assert_eq!(
        app.signup("exists@example.com", "correct horse")
            .await
            .status(),
        201
    );
    for email in ["exists@example.com", "ghost@example.com"] {
        for _ in 0..2 {
            assert_eq!(app.login(email, "wrong guess!").await.status(), 401);
        }
    }
    let a = Captured::from(app.login("exists@example.com", "wrong guess!").await).await;
    let b = Captured::from(app.login("ghost@example.com", "wrong guess!").await).await;
    a.assert_error(429, "too_many_attempts");
    assert_eq!(
        a.body, b.body,
        "a 429 says nothing about whether the account exists"
    );
    assert_eq!(b.status, 429);
    assert_eq!(
        app.login("Other@example.com", "wrong guess!")
            .await
            .status(),
        401,
        "other accounts are unaffected"
    );
}

async fn the_throttle_ends_by_itself(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("LOGIN_MAX_FAILURES".into(), "1".into());
        env.insert("LOGIN_FAILURE_WINDOW_SECONDS".into(), "2".into());
    })
    .await;
    assert_eq!(
        app.signup("patient@example.com", "correct horse")
            .await
            .status(),
        201
    );
    assert_eq!(
        app.login("patient@example.com", "wrong guess!")
            .await
            .status(),
        401
    );
    assert_eq!(
        app.login("patient@example.com", "correct horse")
            .await
            .status(),
        429
    );
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(
        app.login("patient@example.com", "correct horse")
            .await
            .status(),
        200
    );
}

async fn raising_bcrypt_cost_upgrades_a_users_hash_at_their_next_login(backend: Backend) {
    let app = TestApp::spawn(backend).await; // BCRYPT_COST=4
    assert_eq!(
        app.signup("upgrade@example.com", "correct horse")
            .await
            .status(),
        201
    );
    let pool = app.db.pool().await;
    let stored = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT password_hash FROM users WHERE email = 'upgrade@example.com'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert!(stored().await.starts_with("$2b$04$"));

    let raised = app
        .spawn_sharing(|env| {
            env.insert("BCRYPT_COST".into(), "5".into());
        })
        .await;
    let login = |password: &str| {
        raised
            .client
            .post(format!("{}/login", raised.address))
            .json(&serde_json::json!({ "email": "upgrade@example.com", "password": password }))
            .send()
    };
    assert_eq!(login("wrong horse!").await.unwrap().status(), 401);
    assert!(
        stored().await.starts_with("$2b$04$"),
        "a failed login changes nothing"
    );
    assert_eq!(login("correct horse").await.unwrap().status(), 200);
    assert!(
        stored().await.starts_with("$2b$05$"),
        "rehashed with the new cost"
    );
    assert_eq!(
        login("correct horse").await.unwrap().status(),
        200,
        "the new hash verifies"
    );
    assert_eq!(
        app.login("upgrade@example.com", "correct horse")
            .await
            .status(),
        200
    );
}
