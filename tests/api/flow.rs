//! The seeds' flow, exactly as a tutorial reader runs it.

use passport_e2e::{Backend, Captured, TestApp, on_both_backends};
use serde_json::json;

on_both_backends!(
    signup_with_a_form_then_login_with_json_then_profile_with_both_transports,
    signup_with_json_then_login_with_a_form,
    no_response_of_the_flow_contains_the_password_or_its_hash,
);

async fn signup_with_a_form_then_login_with_json_then_profile_with_both_transports(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;

    let signup = Captured::from(
        app.post_form(
            "/signup",
            &[("email", "A@B.co"), ("password", "correct horse")],
        )
        .await,
    )
    .await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    let body = signup.json();
    assert_eq!(body["message"], "Signup successful");
    assert_eq!(body["user"]["email"], "a@b.co", "emails are normalized");
    let id = body["user"]["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());

    let login = Captured::from(app.login("a@b.co", "correct horse").await).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let body = login.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["token"].as_str().unwrap().to_owned();

    for profile in [
        app.profile_with_query(&token).await,
        app.profile_with_bearer(&token).await,
    ] {
        let profile = Captured::from(profile).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
        assert_eq!(
            profile.json(),
            json!({
                "message": "You made it to the secure route",
                "user": { "id": id, "email": "a@b.co" },
                "token": token,
            })
        );
    }
}

async fn signup_with_json_then_login_with_a_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(
        app.signup("ada@example.com", "correct horse")
            .await
            .status(),
        201
    );
    let login = Captured::from(
        app.post_form(
            "/login",
            &[("email", "ADA@example.com "), ("password", "correct horse")],
        )
        .await,
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let token = login.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(app.profile_with_bearer(&token).await.status(), 200);
}

async fn no_response_of_the_flow_contains_the_password_or_its_hash(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let password = "a very particular passphrase";
    let mut responses = vec![
        Captured::from(app.signup("leak@example.com", password).await).await,
        Captured::from(app.signup("leak@example.com", password).await).await,
        Captured::from(app.login("leak@example.com", password).await).await,
        Captured::from(app.login("leak@example.com", "wrong password here").await).await,
        Captured::from(app.login("nobody@example.com", password).await).await,
    ];
    let token = responses[2].json()["token"].as_str().unwrap().to_owned();
    responses.push(Captured::from(app.profile_with_query(&token).await).await);
    responses.push(Captured::from(app.profile_with_bearer(&token).await).await);

    let pool = app.db.pool().await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'leak@example.com'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$2b$"), "stored as a bcrypt hash");
    assert_ne!(hash, password);
    for response in &responses {
        let everything = format!("{:?}{}", response.headers, response.body);
        assert!(
            !everything.contains(password),
            "password leaked: {everything}"
        );
        assert!(!everything.contains(&hash), "hash leaked: {everything}");
        assert!(!everything.contains("$2b$"), "a hash leaked: {everything}");
        assert!(!everything.contains("password_hash"), "{everything}");
    }
}
