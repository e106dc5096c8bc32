//! `POST /signup`: validation, duplicates, body handling.

use passport_e2e::{Backend, Captured, TestApp, on_both_backends};
use serde_json::json;

on_both_backends!(
    a_duplicate_email_in_any_case_is_409,
    invalid_emails_and_weak_passwords_are_422_with_a_reason,
    malformed_bodies_are_400_and_unsupported_types_415,
    bodies_over_the_limit_are_413,
    unknown_fields_are_ignored_and_sql_is_data,
);

async fn a_duplicate_email_in_any_case_is_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.signup("dup@example.com", "correct horse")
            .await
            .status(),
        201
    );
    Captured::from(app.signup("DUP@Example.com", "another passphrase").await)
        .await
        .assert_error(409, "email_taken");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

async fn invalid_emails_and_weak_passwords_are_422_with_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        ("not-an-email", "correct horse", "invalid_email"),
        ("a@b", "correct horse", "invalid_email"),
        ("nul\u{0}@example.com", "correct horse", "invalid_email"),
        ("a@example.com", "short", "password_too_short"),
        ("a@example.com", "ééééééé", "password_too_short"),
        ("a@example.com", &"x".repeat(73), "password_too_long"),
        ("a@example.com", "password123", "password_too_common"),
        ("a@example.com", "a@example.com", "password_matches_email"),
    ];
    for (email, password, code) in cases {
        Captured::from(app.signup(email, password).await)
            .await
            .assert_error(422, code);
    }
    assert_eq!(
        app.signup("a@example.com", "éééééééé").await.status(),
        201,
        "8 code points is enough"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 1, "no rejected signup wrote a row");
}

async fn malformed_bodies_are_400_and_unsupported_types_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let post = |content_type: &'static str, body: &'static str| {
        app.client
            .post(app.url("/signup"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    Captured::from(post("application/json", "{\"email\":").await.unwrap())
        .await
        .assert_error(400, "malformed_body");
    Captured::from(post("application/json", "[]").await.unwrap())
        .await
        .assert_error(400, "malformed_body");
    Captured::from(
        post(
            "application/json",
            r#"{"email":["a@b.co"],"password":"correct horse"}"#,
        )
        .await
        .unwrap(),
    )
    .await
    .assert_error(400, "invalid_field");
    Captured::from(
        post("application/json", r#"{"email":"a@b.co"}"#)
            .await
            .unwrap(),
    )
    .await
    .assert_error(400, "missing_credentials");
    Captured::from(
        post(
            "application/json",
            r#"{"email":null,"password":"correct horse"}"#,
        )
        .await
        .unwrap(),
    )
    .await
    .assert_error(400, "missing_credentials");
    Captured::from(
        post("text/plain", "email=a@b.co&password=correct horse")
            .await
            .unwrap(),
    )
    .await
    .assert_error(415, "unsupported_media_type");
    let empty = app.client.post(app.url("/signup")).send().await.unwrap();
    Captured::from(empty)
        .await
        .assert_error(400, "missing_credentials");
}

async fn bodies_over_the_limit_are_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let huge = json!({ "email": "big@example.com", "password": "x".repeat(64 * 1024) });
    Captured::from(app.post_json("/signup", &huge).await)
        .await
        .assert_error(413, "payload_too_large");
    Captured::from(app.post_json("/login", &huge).await)
        .await
        .assert_error(413, "payload_too_large");
}

async fn unknown_fields_are_ignored_and_sql_is_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "o'brien+x@example.com";
    let response = app
        .post_json("/signup", &json!({ "email": email, "password": "'; DROP TABLE users; --", "id": "0", "is_admin": true }))
        .await;
    let signup = Captured::from(response).await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    assert_ne!(
        signup.json()["user"]["id"],
        "0",
        "the client cannot choose its id"
    );
    assert_eq!(
        app.login(email, "'; DROP TABLE users; --").await.status(),
        200
    );
}
