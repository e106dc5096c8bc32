//! Contract v2, sessions: refresh rotation with reuse detection, logout scopes, password
//! change and account deletion, on both backends.

use std::time::Duration;

use passport_e2e::{Backend, Captured, TestApp, claims_of, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    login_starts_a_session_with_a_refresh_token_and_tokens_carry_sid_and_jti,
    refresh_rotates_the_pair_within_the_same_session,
    a_used_refresh_token_within_the_grace_succeeds_and_revokes_nothing,
    eight_concurrent_refreshes_with_one_token_all_succeed,
    retries_inside_the_grace_cannot_multiply_refresh_tokens_without_bound,
    reuse_after_the_grace_revokes_the_whole_session,
    bad_refresh_requests_get_a_json_4xx_and_never_a_token,
    logout_scopes_end_exactly_the_sessions_they_name,
    logout_needs_a_valid_token_and_a_known_scope,
    password_change_keeps_this_session_and_ends_the_others,
    wrong_current_passwords_count_toward_the_login_throttle,
    account_deletion_removes_the_user_and_every_session,
    a_session_ends_at_its_ttl_whatever_the_refreshes,
);

const PASSWORD: &str = "correct horse battery";

async fn app(backend: Backend) -> TestApp {
    TestApp::spawn(backend).await
}

fn token(body: &Value) -> String {
    body["token"].as_str().unwrap().to_owned()
}

fn refresh_token(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn login_starts_a_session_with_a_refresh_token_and_tokens_carry_sid_and_jti(
    backend: Backend,
) {
    let app = app(backend).await;
    assert_eq!(app.signup("ada@example.com", PASSWORD).await.status(), 201);
    let response = Captured::from(app.login("ada@example.com", PASSWORD).await).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let refresh = refresh_token(&body);
    assert!(
        refresh.len() >= 22
            && refresh
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "an opaque base64url token of at least 128 bits: {refresh}"
    );
    let claims = claims_of(&token(&body));
    assert!(
        claims["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "{claims}"
    );
    assert!(
        claims["jti"].as_str().is_some_and(|s| !s.is_empty()),
        "{claims}"
    );
    for claim in ["sub", "email", "iat", "exp", "iss", "aud"] {
        assert!(!claims[claim].is_null(), "{claim} missing: {claims}");
    }
    let second = app.login_pair("ada@example.com", PASSWORD).await;
    assert_ne!(
        claims_of(&token(&second))["sid"],
        claims["sid"],
        "one session per login"
    );
    assert_ne!(refresh_token(&second), refresh);
    assert_eq!(app.profile_status(&token(&body)).await, 200);
}

async fn refresh_rotates_the_pair_within_the_same_session(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let sid = claims_of(&token(&login))["sid"].clone();

    let refreshed = app.refresh(&refresh_token(&login)).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(refreshed.header("cache-control"), Some("no-store"));
    let body = refreshed.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some());
    let claims = claims_of(&token(&body));
    assert_eq!(claims["sid"], sid, "same session");
    assert_ne!(
        claims["jti"],
        claims_of(&token(&login))["jti"],
        "a new token id"
    );
    assert_ne!(
        refresh_token(&body),
        refresh_token(&login),
        "a new refresh token"
    );
    assert_eq!(app.profile_status(&token(&body)).await, 200);
    assert_eq!(
        app.profile_status(&token(&login)).await,
        200,
        "the old access token lives on"
    );

    // The form encoding works too, and the chain goes on.
    let form = Captured::from(
        app.post_form(
            "/token/refresh",
            &[("refresh_token", &refresh_token(&body))],
        )
        .await,
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(claims_of(&token(&form.json()))["sid"], sid);
}

async fn a_used_refresh_token_within_the_grace_succeeds_and_revokes_nothing(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let first = app.refresh(&refresh_token(&login)).await;
    assert_eq!(first.status, 200);
    let retry = app.refresh(&refresh_token(&login)).await;
    assert_eq!(
        retry.status, 200,
        "a retry inside the grace: {}",
        retry.body
    );
    let sid = claims_of(&token(&login))["sid"].clone();
    assert_eq!(claims_of(&token(&retry.json()))["sid"], sid);
    // Nothing was revoked: every token of the session works, both refresh tokens too.
    for body in [&login, &first.json(), &retry.json()] {
        assert_eq!(app.profile_status(&token(body)).await, 200);
    }
    assert_eq!(app.refresh(&refresh_token(&first.json())).await.status, 200);
    assert_eq!(app.refresh(&refresh_token(&retry.json())).await.status, 200);
}

async fn eight_concurrent_refreshes_with_one_token_all_succeed(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let presented = refresh_token(&login);
    let answers = futures_util::future::join_all((0..8).map(|_| app.refresh(&presented))).await;
    let sid = claims_of(&token(&login))["sid"].clone();
    let mut new_tokens = Vec::new();
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(claims_of(&token(&answer.json()))["sid"], sid);
        new_tokens.push(refresh_token(&answer.json()));
    }
    new_tokens.sort();
    new_tokens.dedup();
    // Contract v3: a token presented again inside the grace gets the same replacement.
    assert_eq!(
        new_tokens.len(),
        1,
        "every racer got the same new refresh token"
    );
    assert_eq!(
        app.profile_status(&token(&login)).await,
        200,
        "nothing revoked"
    );
}

async fn reuse_after_the_grace_revokes_the_whole_session(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("REFRESH_REUSE_GRACE_SECONDS".into(), "1".into());
    })
    .await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let other_session = app.login_pair("ada@example.com", PASSWORD).await;
    let rotated = app.refresh(&refresh_token(&login)).await.json();
    assert_eq!(app.profile_status(&token(&rotated)).await, 200);

    tokio::time::sleep(Duration::from_millis(1300)).await;
    app.refresh(&refresh_token(&login))
        .await
        .assert_error(400, "invalid_grant");
    // The theft revoked the session: its newest refresh token and its access tokens too.
    app.refresh(&refresh_token(&rotated))
        .await
        .assert_error(400, "invalid_grant");
    for body in [&login, &rotated] {
        let refused = Captured::from(app.profile_with_bearer(&token(body)).await).await;
        assert_eq!(refused.status, 401, "{}", refused.body);
        assert!(
            refused
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer") && h.contains("invalid_token")),
            "{:?}",
            refused.headers
        );
    }
    // Another session of the same user is untouched.
    assert_eq!(app.profile_status(&token(&other_session)).await, 200);
    assert_eq!(
        app.refresh(&refresh_token(&other_session)).await.status,
        200
    );
}

async fn bad_refresh_requests_get_a_json_4xx_and_never_a_token(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let huge = "a".repeat(5000);
    let cases: Vec<(&str, &str, String, u16)> = vec![
        (
            "missing field",
            "application/json",
            json!({}).to_string(),
            400,
        ),
        (
            "empty",
            "application/json",
            json!({"refresh_token": ""}).to_string(),
            400,
        ),
        (
            "garbage",
            "application/json",
            json!({"refresh_token": "garbage"}).to_string(),
            400,
        ),
        (
            "huge",
            "application/json",
            json!({"refresh_token": huge}).to_string(),
            400,
        ),
        (
            "an access token",
            "application/json",
            json!({"refresh_token": token(&login)}).to_string(),
            400,
        ),
        (
            "a number",
            "application/json",
            json!({"refresh_token": 42}).to_string(),
            400,
        ),
        (
            "null",
            "application/json",
            r#"{"refresh_token":null}"#.to_owned(),
            400,
        ),
        ("not JSON", "application/json", "{".to_owned(), 400),
        (
            "twice",
            "application/x-www-form-urlencoded",
            format!("refresh_token={0}&refresh_token={0}", refresh_token(&login)),
            400,
        ),
        ("wrong type", "text/plain", refresh_token(&login), 415),
        (
            "too large",
            "application/json",
            format!("{{\"refresh_token\":\"{}\"}}", "a".repeat(20_000)),
            413,
        ),
    ];
    for (what, content_type, body, status) in cases {
        let response = Captured::from(
            app.client
                .post(app.url("/token/refresh"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(response.status, status, "{what}: {}", response.body);
        let json = response.json();
        assert!(
            json["error"].as_str().is_some(),
            "{what}: {}",
            response.body
        );
        assert!(json.get("token").is_none() && json.get("refresh_token").is_none());
    }
    for garbage in ["garbage", &"a".repeat(43), &token(&login)] {
        app.refresh(garbage)
            .await
            .assert_error(400, "invalid_grant");
    }
    // None of that harmed the real session.
    assert_eq!(app.refresh(&refresh_token(&login)).await.status, 200);
}

async fn logout_scopes_end_exactly_the_sessions_they_name(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    app.signup("bob@example.com", PASSWORD).await;
    let [a, b, c, d] = [
        app.login_pair("ada@example.com", PASSWORD).await,
        app.login_pair("ada@example.com", PASSWORD).await,
        app.login_pair("ada@example.com", PASSWORD).await,
        app.login_pair("ada@example.com", PASSWORD).await,
    ];
    let bob = app.login_pair("bob@example.com", PASSWORD).await;

    let local = app.logout(&token(&a), None).await;
    assert_eq!(local.status, 204, "{}", local.body);
    assert!(local.body.is_empty());
    assert_eq!(app.profile_status(&token(&a)).await, 401);
    app.refresh(&refresh_token(&a))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        app.profile_status(&token(&b)).await,
        200,
        "local ends one session"
    );

    assert_eq!(app.logout(&token(&b), Some("local")).await.status, 204);
    assert_eq!(app.profile_status(&token(&b)).await, 401);
    assert_eq!(app.profile_status(&token(&c)).await, 200);

    assert_eq!(app.logout(&token(&c), Some("others")).await.status, 204);
    assert_eq!(
        app.profile_status(&token(&c)).await,
        200,
        "others keeps this one"
    );
    assert_eq!(app.profile_status(&token(&d)).await, 401);
    app.refresh(&refresh_token(&d))
        .await
        .assert_error(400, "invalid_grant");

    let e = app.login_pair("ada@example.com", PASSWORD).await;
    assert_eq!(app.logout(&token(&c), Some("global")).await.status, 204);
    for body in [&c, &e] {
        assert_eq!(app.profile_status(&token(body)).await, 401);
        app.refresh(&refresh_token(body))
            .await
            .assert_error(400, "invalid_grant");
    }
    assert_eq!(
        app.profile_status(&token(&bob)).await,
        200,
        "other users untouched"
    );
    assert_eq!(app.refresh(&refresh_token(&bob)).await.status, 200);
}

async fn logout_needs_a_valid_token_and_a_known_scope(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let anonymous = Captured::from(app.client.post(app.url("/logout")).send().await.unwrap()).await;
    anonymous.assert_error(401, "token_missing");
    assert!(
        anonymous
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    app.logout("not.a.token", None)
        .await
        .assert_error(401, "token_malformed");

    for scope in ["everything", "", "LOCAL"] {
        let response = app.logout(&token(&login), Some(scope)).await;
        assert_eq!(response.status, 400, "scope {scope:?}: {}", response.body);
        assert!(response.json()["error"].as_str().is_some());
    }
    assert_eq!(
        app.profile_status(&token(&login)).await,
        200,
        "a refused logout revokes nothing"
    );

    // The query-string token works for logout too.
    let via_query = app
        .client
        .post(app.url("/logout"))
        .query(&[("secret_token", token(&login))])
        .send()
        .await
        .unwrap();
    assert_eq!(via_query.status(), 204);
    assert_eq!(app.profile_status(&token(&login)).await, 401);
    // Logging out twice: the token is refused like any revoked token.
    app.logout(&token(&login), None)
        .await
        .assert_error(401, "token_subject_unknown");
}

async fn password_change_keeps_this_session_and_ends_the_others(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let this = app.login_pair("ada@example.com", PASSWORD).await;
    let other = app.login_pair("ada@example.com", PASSWORD).await;
    let change = |current: &str, new: &str| {
        let request = app
            .client
            .post(app.url("/user/password"))
            .bearer_auth(token(&this))
            .json(&json!({ "current_password": current, "new_password": new }));
        async move { Captured::from(request.send().await.unwrap()).await }
    };

    change("wrong password!", "a brand new passphrase")
        .await
        .assert_error(403, "invalid_credentials");
    change(PASSWORD, "short")
        .await
        .assert_error(422, "password_too_short");
    change(PASSWORD, "password")
        .await
        .assert_error(422, "password_too_common");
    assert_eq!(
        app.profile_status(&token(&other)).await,
        200,
        "failed changes revoke nothing"
    );

    let done = change(PASSWORD, "a brand new passphrase").await;
    assert_eq!(done.status, 204, "{}", done.body);
    assert_eq!(
        app.profile_status(&token(&this)).await,
        200,
        "this session stays"
    );
    assert_eq!(app.refresh(&refresh_token(&this)).await.status, 200);
    assert_eq!(app.profile_status(&token(&other)).await, 401, "others end");
    app.refresh(&refresh_token(&other))
        .await
        .assert_error(400, "invalid_grant");

    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 401);
    app.login_pair("ada@example.com", "a brand new passphrase")
        .await;

    let form = Captured::from(
        app.client
            .post(app.url("/user/password"))
            .bearer_auth(token(&this))
            .form(&[("current_password", "a brand new passphrase")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(form.status, 400, "a missing field: {}", form.body);
    let anonymous = Captured::from(
        app.client
            .post(app.url("/user/password"))
            .json(&json!({ "current_password": PASSWORD, "new_password": "another passphrase" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    anonymous.assert_error(401, "token_missing");
}

async fn wrong_current_passwords_count_toward_the_login_throttle(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("LOGIN_MAX_FAILURES".into(), "3".into());
    })
    .await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let attempt = |password: &str| {
        let request = app
            .client
            .delete(app.url("/user"))
            .bearer_auth(token(&login))
            .json(&json!({ "password": password }));
        async move { Captured::from(request.send().await.unwrap()).await }
    };
    for _ in 0..3 {
        attempt("not the password")
            .await
            .assert_error(403, "invalid_credentials");
    }
    let throttled = attempt("not the password").await;
    throttled.assert_error(429, "too_many_attempts");
    assert!(throttled.header("retry-after").is_some());
    // Throttled means the right password is refused too, here and at /login.
    attempt(PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
    assert_eq!(app.login("ada@example.com", PASSWORD).await.status(), 429);
    assert_eq!(
        app.profile_status(&token(&login)).await,
        200,
        "the account still exists"
    );
}

async fn account_deletion_removes_the_user_and_every_session(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let this = app.login_pair("ada@example.com", PASSWORD).await;
    let other = app.login_pair("ada@example.com", PASSWORD).await;
    let delete = |password: &str| {
        let request = app
            .client
            .delete(app.url("/user"))
            .bearer_auth(token(&this))
            .form(&[("password", password)]);
        async move { Captured::from(request.send().await.unwrap()).await }
    };
    delete("wrong password!")
        .await
        .assert_error(403, "invalid_credentials");
    assert_eq!(app.profile_status(&token(&this)).await, 200);

    let deleted = delete(PASSWORD).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    for body in [&this, &other] {
        assert_eq!(app.profile_status(&token(body)).await, 401);
        app.refresh(&refresh_token(body))
            .await
            .assert_error(400, "invalid_grant");
    }
    let deleted_login = Captured::from(app.login("ada@example.com", PASSWORD).await).await;
    let unknown_login = Captured::from(app.login("nobody@example.com", PASSWORD).await).await;
    assert_eq!(deleted_login.status, 401);
    assert_eq!(
        deleted_login.body, unknown_login.body,
        "indistinguishable from unknown"
    );
    assert_eq!(
        app.signup("ada@example.com", PASSWORD).await.status(),
        201,
        "the email is free again"
    );
    // The old tokens do not come back to life for the new account.
    assert_eq!(app.profile_status(&token(&this)).await, 401);
}

async fn a_session_ends_at_its_ttl_whatever_the_refreshes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("SESSION_TTL_SECONDS".into(), "2".into());
    })
    .await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let refreshed = app.refresh(&refresh_token(&login)).await;
    assert_eq!(refreshed.status, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    app.refresh(&refresh_token(&refreshed.json()))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        app.profile_status(&token(&refreshed.json())).await,
        401,
        "the session has ended"
    );
}

async fn retries_inside_the_grace_cannot_multiply_refresh_tokens_without_bound(backend: Backend) {
    let app = app(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let presented = refresh_token(&login);
    let mut statuses = Vec::new();
    let mut last_child = None;
    for _ in 0..40 {
        let answer = app.refresh(&presented).await;
        if answer.status == 200 {
            last_child = Some(refresh_token(&answer.json()));
        } else {
            answer.assert_error(400, "invalid_grant");
        }
        statuses.push(answer.status);
    }
    let granted = statuses.iter().filter(|s| **s == 200).count();
    // Contract v3: every retry inside the grace gets the same replacement, so none adds a
    // token (the cap of 32 unused tokens per session still bounds the table).
    assert_eq!(granted, 40, "every retry is answered: {statuses:?}");
    let pool = app.db.pool().await;
    let unused: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM refresh_tokens WHERE used_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap(),
        "n",
    );
    assert_eq!(unused, 1, "one unused token, whatever the retries");
    assert_eq!(app.profile_status(&token(&login)).await, 200);
    assert_eq!(app.refresh(&last_child.unwrap()).await.status, 200);
}
