//! CORS: configured origins only, and preflights pass the auth middleware.

use passport_e2e::{Backend, Captured, TestApp};

#[tokio::test]
async fn a_preflight_to_a_guarded_route_is_answered_without_a_token() {
    let app = TestApp::spawn_with(Backend::Sqlite, |env| {
        env.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            "https://app.example.com".into(),
        );
    })
    .await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/user/profile"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "https://app.example.com"
    );

    let other = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/user/profile"))
        .header("origin", "https://evil.example.net")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let refused = Captured::from(other).await;
    assert!(
        (400..500).contains(&refused.status),
        "{} {}",
        refused.status,
        refused.body
    );
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert!(refused.json()["error"].is_string(), "{}", refused.body);
}

#[tokio::test]
async fn without_configured_origins_no_cors_header_is_sent() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = app
        .client
        .get(app.url("/health"))
        .header("origin", "https://anywhere.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
