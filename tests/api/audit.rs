//! The audit trail: a row for every security event, on both backends, and no secret in any
//! column.

use passport_e2e::{Backend, Captured, TestApp, claims_of, on_both_backends};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;

on_both_backends!(
    every_security_event_leaves_an_audit_row_with_no_secret_in_it,
    a_failed_audit_write_does_not_fail_the_request,
    a_refresh_whose_audit_row_cannot_be_written_does_not_rotate,
    a_refresh_leaves_exactly_one_audit_row,
    a_reuse_revokes_its_session_even_when_its_audit_row_cannot_be_written
);

const EMAIL: &str = "audited@example.com";
const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";
const WRONG: &str = "not the right password";
const AGENT: &str = "audit-test-agent/1.0";

/// One `audit_events` row, every column as text (NULL as "").
#[derive(Debug)]
struct AuditRow {
    occurred_at: i64,
    event: String,
    outcome: String,
    detail: String,
    user_id: String,
    session_id: String,
    client_addr: String,
    user_agent: String,
}

impl AuditRow {
    fn columns(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            self.occurred_at,
            self.event,
            self.outcome,
            self.detail,
            self.user_id,
            self.session_id,
            self.client_addr,
            self.user_agent
        )
    }
}

async fn audit_rows(app: &TestApp) -> Vec<AuditRow> {
    let pool = app.db.pool().await;
    let rows = sqlx::query(
        "SELECT occurred_at, event, outcome,
                COALESCE(detail, '') AS detail,
                COALESCE(CAST(user_id AS TEXT), '') AS user_id,
                COALESCE(CAST(session_id AS TEXT), '') AS session_id,
                COALESCE(client_addr, '') AS client_addr,
                COALESCE(user_agent, '') AS user_agent
         FROM audit_events ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| AuditRow {
            occurred_at: r.get("occurred_at"),
            event: r.get("event"),
            outcome: r.get("outcome"),
            detail: r.get("detail"),
            user_id: r.get("user_id"),
            session_id: r.get("session_id"),
            client_addr: r.get("client_addr"),
            user_agent: r.get("user_agent"),
        })
        .collect()
}

/// Every password hash and refresh-token digest the database holds right now.
async fn stored_secrets(app: &TestApp) -> Vec<String> {
    let pool = app.db.pool().await;
    let mut secrets: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(&pool)
        .await
        .unwrap();
    secrets.extend(
        sqlx::query_scalar::<_, String>("SELECT token_hash FROM refresh_tokens")
            .fetch_all(&pool)
            .await
            .unwrap(),
    );
    pool.close().await;
    secrets
}

fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Captured {
    let mut request = app
        .client
        .post(app.url(path))
        .header("user-agent", AGENT)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Captured::from(request.send().await.unwrap()).await
}

async fn login(app: &TestApp, email: &str, password: &str) -> Captured {
    post(
        app,
        "/login",
        None,
        json!({ "email": email, "password": password }),
    )
    .await
}

fn field(body: &Captured, name: &str) -> String {
    body.json()[name].as_str().unwrap().to_owned()
}

async fn every_security_event_leaves_an_audit_row_with_no_secret_in_it(backend: Backend) {
    // Arrange: reuse is detected at once, and a third wrong password is throttled.
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("REFRESH_REUSE_GRACE_SECONDS".into(), "0".into());
        env.insert("LOGIN_MAX_FAILURES".into(), "2".into());
    })
    .await;
    let mut secrets: Vec<String> = vec![PASSWORD.into(), NEW_PASSWORD.into(), WRONG.into()];

    // Act: every audited event, in order.
    let signup = post(
        &app,
        "/signup",
        None,
        json!({ "email": EMAIL, "password": PASSWORD }),
    )
    .await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    let user_id = signup.json()["user"]["id"].as_str().unwrap().to_owned();
    secrets.extend(stored_secrets(&app).await);

    login(&app, EMAIL, WRONG)
        .await
        .assert_error(401, "invalid_credentials");

    let first = login(&app, EMAIL, PASSWORD).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first_sid = claims_of(&field(&first, "token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.extend([field(&first, "token"), field(&first, "refresh_token")]);
    secrets.extend(stored_secrets(&app).await);

    let refreshed = post(
        &app,
        "/token/refresh",
        None,
        json!({ "refresh_token": field(&first, "refresh_token") }),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    secrets.extend([
        field(&refreshed, "token"),
        field(&refreshed, "refresh_token"),
    ]);
    secrets.extend(stored_secrets(&app).await);

    post(
        &app,
        "/token/refresh",
        None,
        json!({ "refresh_token": field(&first, "refresh_token") }),
    )
    .await
    .assert_error(400, "invalid_grant");

    let second = login(&app, EMAIL, PASSWORD).await;
    let third = login(&app, EMAIL, PASSWORD).await;
    let access = field(&third, "token");
    let third_sid = claims_of(&access)["sid"].as_str().unwrap().to_owned();
    for pair in [&second, &third] {
        secrets.extend([field(pair, "token"), field(pair, "refresh_token")]);
    }
    secrets.extend(stored_secrets(&app).await);

    let others = post(&app, "/logout?scope=others", Some(&access), json!({})).await;
    assert_eq!(others.status, 204, "{}", others.body);

    post(
        &app,
        "/user/password",
        Some(&access),
        json!({ "current_password": WRONG, "new_password": NEW_PASSWORD }),
    )
    .await
    .assert_error(403, "invalid_credentials");
    let changed = post(
        &app,
        "/user/password",
        Some(&access),
        json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
    )
    .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    secrets.extend(stored_secrets(&app).await);

    let local = post(&app, "/logout", Some(&access), json!({})).await;
    assert_eq!(local.status, 204, "{}", local.body);

    let last = login(&app, EMAIL, NEW_PASSWORD).await;
    assert_eq!(last.status, 200, "{}", last.body);
    let last_access = field(&last, "token");
    let last_sid = claims_of(&last_access)["sid"].as_str().unwrap().to_owned();
    secrets.extend([last_access.clone(), field(&last, "refresh_token")]);
    secrets.extend(stored_secrets(&app).await);
    let deleted = app
        .client
        .delete(app.url("/user"))
        .header("user-agent", AGENT)
        .bearer_auth(&last_access)
        .json(&json!({ "password": NEW_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    // Another account: two wrong passwords, then the throttle.
    let other = app.signup("other@example.com", PASSWORD).await;
    assert_eq!(other.status(), 201);
    secrets.extend(stored_secrets(&app).await);
    for _ in 0..3 {
        login(&app, "other@example.com", WRONG).await;
    }

    // Assert: one row per event, in order, with who and from where.
    let rows = audit_rows(&app).await;
    let summary: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (r.event.as_str(), r.outcome.as_str(), r.detail.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("signup", "success", ""),
            ("login", "failure", ""),
            ("login", "success", ""),
            ("token_refresh", "success", ""),
            ("refresh_token_reuse", "revoked", ""),
            ("login", "success", ""),
            ("login", "success", ""),
            ("logout", "success", "others"),
            ("password_change", "failure", ""),
            ("password_change", "success", ""),
            ("logout", "success", "local"),
            ("login", "success", ""),
            ("account_deletion", "success", ""),
            ("signup", "success", ""),
            ("login", "failure", ""),
            ("login", "failure", ""),
            ("login", "throttled", ""),
        ]
    );
    let first_user_rows = &rows[..13];
    for row in first_user_rows {
        assert_eq!(row.client_addr, "127.0.0.1", "{row:?}");
        assert!(row.occurred_at > 0, "{row:?}");
        if row.event == "login" && row.outcome == "failure" {
            assert_eq!(row.user_id, "", "a failed login names no user: {row:?}");
        } else {
            assert_eq!(row.user_id, user_id, "{row:?}");
        }
    }
    for row in first_user_rows {
        assert_eq!(row.user_agent, AGENT, "{row:?}");
    }
    assert_eq!(rows[2].session_id, first_sid, "login names its session");
    assert_eq!(rows[3].session_id, first_sid, "refresh names its session");
    assert_eq!(
        rows[4].session_id, first_sid,
        "reuse names the revoked session"
    );
    assert_eq!(rows[7].session_id, third_sid);
    assert_eq!(rows[12].session_id, last_sid);

    // No column of any row holds a password, token, refresh token, hash or email.
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() > 15, "secrets collected: {}", secrets.len());
    let refresh_digests: Vec<String> = secrets.iter().map(|s| sha256_hex(s)).collect();
    for row in &rows {
        let columns = row.columns();
        for secret in secrets.iter().chain(&refresh_digests) {
            assert!(
                !columns.contains(secret.as_str()),
                "an audit row holds a secret: {columns}"
            );
        }
        assert!(!columns.contains("@example.com"), "an email: {columns}");
    }
}

async fn a_failed_audit_write_does_not_fail_the_request(backend: Backend) {
    // Arrange: the audit table is gone, so every audit write fails.
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("METRICS_ADDR".into(), "127.0.0.1:0".into());
    })
    .await;
    let pool = app.db.pool().await;
    sqlx::query("DROP TABLE audit_events")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    // Act
    let signup = Captured::from(app.signup(EMAIL, PASSWORD).await).await;
    let login = Captured::from(app.login(EMAIL, PASSWORD).await).await;

    // Assert: the requests succeed, and the failures are counted.
    assert_eq!(signup.status, 201, "{}", signup.body);
    assert_eq!(login.status, 200, "{}", login.body);
    let port = app.metrics_port.unwrap();
    let metrics = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("passport_audit_write_failures_total 2"),
        "{metrics}"
    );
}

/// The `token_refresh` and `refresh_token_reuse` rows, as (event, outcome, session).
async fn refresh_rows(app: &TestApp) -> Vec<(String, String, String)> {
    audit_rows(app)
        .await
        .into_iter()
        .filter(|r| r.event == "token_refresh" || r.event == "refresh_token_reuse")
        .map(|r| (r.event, r.outcome, r.session_id))
        .collect()
}

async fn a_refresh_whose_audit_row_cannot_be_written_does_not_rotate(backend: Backend) {
    // Arrange: a session, then the audit table out of the way (every audit write fails).
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup(EMAIL, PASSWORD).await.status(), 201);
    let login = app.login_pair(EMAIL, PASSWORD).await;
    let refresh_token = login["refresh_token"].as_str().unwrap().to_owned();
    let pool = app.db.pool().await;
    sqlx::query("ALTER TABLE audit_events RENAME TO audit_events_away")
        .execute(&pool)
        .await
        .unwrap();

    // Act
    let refused = app.refresh(&refresh_token).await;

    // Assert: the row goes in the rotation's statement, so no row, no rotation: no new pair,
    // the presented token still unused and no replacement stored.
    assert!(refused.status >= 500, "{} {}", refused.status, refused.body);
    assert!(!refused.body.contains("refresh_token"), "{}", refused.body);
    let used: Vec<Option<i64>> = sqlx::query("SELECT used_at FROM refresh_tokens")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("used_at"))
        .collect();
    assert_eq!(used, [None], "only the login's token, unused");

    // And the old token still works once the table is back, with its one row.
    sqlx::query("ALTER TABLE audit_events_away RENAME TO audit_events")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let refreshed = app.refresh(&refresh_token).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let sid = claims_of(&field(&refreshed, "token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        refresh_rows(&app).await,
        [("token_refresh".into(), "success".into(), sid)]
    );
}

/// An app that detects a reuse at once (no grace), with one user logged in: the login's body
/// and its refresh token.
async fn logged_in_without_reuse_grace(backend: Backend) -> (TestApp, Value, String) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("REFRESH_REUSE_GRACE_SECONDS".into(), "0".into());
    })
    .await;
    assert_eq!(app.signup(EMAIL, PASSWORD).await.status(), 201);
    let login = app.login_pair(EMAIL, PASSWORD).await;
    let first = login["refresh_token"].as_str().unwrap().to_owned();
    (app, login, first)
}

async fn a_reuse_revokes_its_session_even_when_its_audit_row_cannot_be_written(backend: Backend) {
    // Arrange: reuse is detected at once; one refresh, then the audit table out of the way.
    let (app, _, first) = logged_in_without_reuse_grace(backend).await;
    let refreshed = app.refresh(&first).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let (access, second) = (
        field(&refreshed, "token"),
        field(&refreshed, "refresh_token"),
    );
    assert_eq!(app.profile_status(&access).await, 200, "cached as live");
    let pool = app.db.pool().await;
    sqlx::query("ALTER TABLE audit_events RENAME TO audit_events_away")
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // Act: the used token again (a theft, as the contract reads it).
    let reused = app.refresh(&first).await;

    // Assert: the session ends although its audit row could not be written: the answer is
    // the reuse's, the thief's and the owner's tokens are refused at once.
    reused.assert_error(400, "invalid_grant");
    assert_eq!(
        app.profile_status(&access).await,
        401,
        "the session's access token"
    );
    app.refresh(&second)
        .await
        .assert_error(400, "invalid_grant");
    let revoked: Vec<Option<i64>> = sqlx::query("SELECT revoked_at FROM sessions")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("revoked_at"))
        .collect();
    assert!(matches!(revoked.as_slice(), [Some(_)]), "{revoked:?}");
    pool.close().await;
}

async fn a_refresh_leaves_exactly_one_audit_row(backend: Backend) {
    // Arrange: reuse is detected at once.
    let (app, login, first) = logged_in_without_reuse_grace(backend).await;
    let sid = claims_of(login["token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: one refresh, then the used token again (a reuse: the session is revoked).
    let refreshed = app.refresh(&first).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let after_refresh = refresh_rows(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.refresh(&first).await.assert_error(400, "invalid_grant");

    // Assert: one row each, written with the rotation and not again by the route.
    assert_eq!(
        after_refresh,
        [("token_refresh".into(), "success".into(), sid.clone())]
    );
    assert_eq!(
        refresh_rows(&app).await,
        [
            ("token_refresh".into(), "success".into(), sid.clone()),
            ("refresh_token_reuse".into(), "revoked".into(), sid),
        ]
    );
}
