//! `GET /metrics`: Prometheus text on its own listener (`METRICS_ADDR`), never on the API port.

use passport_e2e::{Backend, Captured, TestApp, on_both_backends};

on_both_backends!(
    metrics_are_served_on_their_own_listener_and_counters_move,
    without_metrics_addr_there_is_no_metrics_listener
);

const PASSWORD: &str = "correct horse battery";

async fn metrics_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |env| {
        env.insert("METRICS_ADDR".into(), "127.0.0.1:0".into());
    })
    .await
}

async fn scrape(app: &TestApp) -> String {
    let port = app.metrics_port.expect("a metrics listener");
    let response = Captured::from(
        app.client
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        response.headers
    );
    response.body
}

/// The value of the sample whose name and labels are exactly `series` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}

async fn metrics_are_served_on_their_own_listener_and_counters_move(backend: Backend) {
    let app = metrics_app(backend).await;
    assert_ne!(app.metrics_port, Some(app.port));

    let before = scrape(&app).await;
    let logins = r#"passport_logins_total{outcome="success"}"#;
    let failures = r#"passport_logins_total{outcome="failure"}"#;
    assert_eq!(sample(&before, logins), 0.0);

    // Act: a signup, a failed and a successful login, a guarded request with and without
    // a valid token, a refresh.
    assert_eq!(
        app.signup("metrics@example.com", PASSWORD).await.status(),
        201
    );
    assert_eq!(
        app.login("metrics@example.com", "wrong password!")
            .await
            .status(),
        401
    );
    let pair = app.login_pair("metrics@example.com", PASSWORD).await;
    let token = pair["token"].as_str().unwrap();
    assert_eq!(app.profile_status(token).await, 200);
    assert_eq!(app.profile_status("not-a-token").await, 401);
    let refreshed = app.refresh(pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);

    // Assert
    let after = scrape(&app).await;
    for name in [
        "passport_http_requests_total",
        "passport_http_request_duration_seconds",
        "passport_logins_total",
        "passport_signups_total",
        "passport_refreshes_total",
        "passport_refresh_reuse_detections_total",
        "passport_revocations_total",
        "passport_token_verifications_total",
        "passport_audit_write_failures_total",
        "passport_db_pool_connections",
        "passport_session_cache_trusted",
        "passport_hashing_queue_depth",
        "passport_hashing_wait_seconds",
    ] {
        assert!(
            after.contains(&format!("# TYPE {name} ")),
            "{name} missing from:\n{after}"
        );
    }
    assert_eq!(sample(&after, logins), 1.0, "{after}");
    assert_eq!(sample(&after, failures), 1.0, "{after}");
    assert_eq!(sample(&after, "passport_signups_total"), 1.0);
    assert_eq!(sample(&after, "passport_refreshes_total"), 1.0);
    assert_eq!(
        sample(
            &after,
            r#"passport_http_requests_total{method="POST",route="/login",status="200"}"#
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            r#"passport_http_request_duration_seconds_count{method="GET",route="/user/profile",status="401"}"#
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            r#"passport_token_verifications_total{outcome="accepted"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"passport_token_verifications_total{outcome="refused"}"#
        ),
        1.0
    );
    assert!(sample(&after, r#"passport_db_pool_connections{state="open"}"#) >= 1.0);
    // One trip to the hashing pool each for the signup and the two logins, none for the rest;
    // nothing is waiting once they are answered.
    let hashes = "passport_hashing_wait_seconds_count";
    assert_eq!(sample(&before, hashes), 0.0, "{before}");
    assert_eq!(sample(&after, hashes), 3.0, "{after}");
    assert_eq!(sample(&after, "passport_hashing_queue_depth"), 0.0);
    assert!(
        !after.contains("metrics@example.com") && !after.contains(token),
        "no email or token in metrics"
    );

    // The API port has no /metrics, and the metrics port has nothing else.
    Captured::from(app.client.get(app.url("/metrics")).send().await.unwrap())
        .await
        .assert_error(404, "not_found");
    let port = app.metrics_port.unwrap();
    Captured::from(
        app.client
            .get(format!("http://127.0.0.1:{port}/login"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_error(404, "not_found");
}

async fn without_metrics_addr_there_is_no_metrics_listener(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.metrics_port, None);
    Captured::from(app.client.get(app.url("/metrics")).send().await.unwrap())
        .await
        .assert_error(404, "not_found");
}
