//! Input limits and hardening of `/signup` and `/login`, and the headers and JSON errors every
//! response carries (the framework's own 404/405/413 included).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use passport_e2e::{Backend, Captured, TestApp, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    a_body_over_the_limit_with_a_content_length_is_413_json_quickly,
    a_chunked_body_over_the_limit_without_a_content_length_is_413_json_quickly,
    malformed_bodies_are_400_json_with_a_reason,
    missing_or_empty_fields_are_400_missing_credentials,
    wrongly_typed_fields_are_400_invalid_field_naming_the_field,
    extra_fields_are_ignored_and_change_nothing,
    null_bytes_in_fields_are_4xx_json_and_never_truncate_a_password,
    a_wrong_content_type_is_415_json,
    a_json_content_type_with_a_charset_parameter_or_in_upper_case_works,
    a_form_password_with_plus_and_percent_20_round_trips_to_a_json_login,
    responses_carrying_a_token_are_marked_no_store,
    every_response_carries_nosniff_errors_included,
    framework_errors_are_json_unknown_route_404_and_wrong_method_405,
);

const EMAIL: &str = "input@example.com";
const PASSWORD: &str = "correct horse battery";
/// The paths that read a credentials body.
const BODY_PATHS: [&str; 2] = ["/signup", "/login"];

async fn post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Captured {
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    Captured::from(response).await
}

/// A JSON `{"error","message"}` body (nothing else) with `content-type: application/json`.
fn assert_json_error(context: &str, response: &Captured, status: u16, code: &str) {
    assert_eq!(response.status, status, "{context}: {}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{context}: {:?}",
        response.headers
    );
    let body = response.json();
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("{context}: not an object: {}", response.body));
    assert_eq!(
        object.len(),
        2,
        "{context}: only error and message: {}",
        response.body
    );
    assert_eq!(body["error"], code, "{context}: {}", response.body);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{context}: {}",
        response.body
    );
}

/// Valid credentials padded with a JSON string field to exactly `size` bytes.
fn padded_credentials(size: usize) -> Vec<u8> {
    let prefix = format!(r#"{{"email":"{EMAIL}","password":"{PASSWORD}","padding":""#);
    let padding = size - prefix.len() - 2;
    let body = format!("{prefix}{}\"}}", "x".repeat(padding));
    assert_eq!(body.len(), size);
    body.into_bytes()
}

/// What `/signup` then `/login` answer to valid credentials: 201 then 200.
fn expected_success(path: &str) -> u16 {
    if path == "/signup" { 201 } else { 200 }
}

async fn a_body_over_the_limit_with_a_content_length_is_413_json_quickly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in BODY_PATHS {
        // Control: credentials padded to 4 KiB are read normally.
        let small = post(&app, path, "application/json", padded_credentials(4 * 1024)).await;
        assert_eq!(
            small.status,
            expected_success(path),
            "{path} with 4 KiB: {}",
            small.body
        );
        for size in [64 * 1024, 1024 * 1024] {
            let started = Instant::now();
            let response = post(&app, path, "application/json", padded_credentials(size)).await;
            let elapsed = started.elapsed();
            assert_json_error(
                &format!("{path} with {size} bytes"),
                &response,
                413,
                "payload_too_large",
            );
            assert!(
                elapsed < Duration::from_secs(3),
                "{path} with {size} bytes took {elapsed:?}"
            );
        }
        let form = format!(
            "email=input%40example.com&password=correct+horse+battery&padding={}",
            "x".repeat(64 * 1024)
        );
        let response = post(&app, path, "application/x-www-form-urlencoded", form).await;
        assert_json_error(
            &format!("{path} with a 64 KiB form"),
            &response,
            413,
            "payload_too_large",
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 1, "only the control signup wrote a row");
}

/// A body sent in `chunks` chunks of `chunk` bytes, `pause` apart, with no Content-Length.
fn chunked(first: Vec<u8>, chunk: usize, chunks: usize, pause: Duration) -> reqwest::Body {
    let rest = futures_util::stream::iter(0..chunks).then(move |_| async move {
        tokio::time::sleep(pause).await;
        Ok::<_, std::io::Error>(vec![b' '; chunk])
    });
    let stream =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(rest);
    reqwest::Body::wrap_stream(stream)
}

async fn a_chunked_body_over_the_limit_without_a_content_length_is_413_json_quickly(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    for path in BODY_PATHS {
        // Control: a chunked body under the limit is read whole (JSON allows trailing spaces).
        let body = json!({ "email": EMAIL, "password": PASSWORD })
            .to_string()
            .into_bytes();
        let request = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json");
        let small = Captured::from(
            request
                .body(chunked(body.clone(), 512, 4, Duration::ZERO))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            small.status,
            expected_success(path),
            "{path} chunked under the limit: {}",
            small.body
        );

        // 64 KiB at once, then 10 MiB trickling for minutes: the answer must not wait for it.
        for (label, chunk, chunks, pause) in [
            ("64 KiB in 1 KiB chunks", 1024, 64, Duration::ZERO),
            (
                "an endless trickle",
                1024,
                10 * 1024,
                Duration::from_millis(20),
            ),
        ] {
            let request = app
                .client
                .post(app.url(path))
                .header("content-type", "application/json");
            let request = request
                .body(chunked(body.clone(), chunk, chunks, pause))
                .build()
                .unwrap();
            assert!(
                request.headers().get("content-length").is_none(),
                "the body is sent chunked"
            );
            let started = Instant::now();
            let response =
                tokio::time::timeout(Duration::from_secs(10), app.client.execute(request))
                    .await
                    .unwrap_or_else(|_| panic!("{path} with {label}: no answer in 10 s"))
                    .unwrap();
            let response = Captured::from(response).await;
            let elapsed = started.elapsed();
            assert_json_error(
                &format!("{path} with {label}"),
                &response,
                413,
                "payload_too_large",
            );
            assert!(
                elapsed < Duration::from_secs(3),
                "{path} with {label} took {elapsed:?}"
            );
        }
    }
}

async fn malformed_bodies_are_400_json_with_a_reason(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let json_cases: [(&str, &[u8]); 11] = [
        ("an empty body", b""),
        ("an unclosed object", b"{"),
        (
            "a truncated object",
            br#"{"email":"input@example.com","password":"#,
        ),
        (
            "an array",
            br#"[{"email":"input@example.com","password":"correct horse battery"}]"#,
        ),
        ("a string", br#""input@example.com""#),
        ("null", b"null"),
        ("a number", b"42"),
        (
            "trailing garbage",
            br#"{"email":"input@example.com","password":"correct horse battery"} x"#,
        ),
        (
            "single quotes",
            b"{'email':'input@example.com','password':'correct horse battery'}",
        ),
        (
            "invalid UTF-8",
            b"{\"email\":\"input\xff@example.com\",\"password\":\"correct horse battery\"}",
        ),
        (
            "a lone surrogate escape",
            br#"{"email":"input@example.com","password":"correct \ud800 horse"}"#,
        ),
    ];
    let form_cases: [(&str, &[u8]); 2] = [
        (
            "invalid UTF-8 bytes",
            b"email=input\xff%40example.com&password=correct+horse+battery",
        ),
        (
            "percent-encoded invalid UTF-8",
            b"email=input%40example.com&password=correct%FF+horse+battery",
        ),
    ];
    for path in BODY_PATHS {
        for (label, body) in json_cases {
            let response = post(&app, path, "application/json", body.to_vec()).await;
            assert_json_error(
                &format!("{path} with JSON {label}"),
                &response,
                400,
                "malformed_body",
            );
        }
        for (label, body) in form_cases {
            let response = post(
                &app,
                path,
                "application/x-www-form-urlencoded",
                body.to_vec(),
            )
            .await;
            assert_json_error(
                &format!("{path} with a form of {label}"),
                &response,
                400,
                "malformed_body",
            );
        }
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

async fn missing_or_empty_fields_are_400_missing_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let json_cases = [
        json!({}),
        json!({ "email": EMAIL }),
        json!({ "password": PASSWORD }),
        json!({ "email": "", "password": PASSWORD }),
        json!({ "email": EMAIL, "password": "" }),
        json!({ "email": null, "password": PASSWORD }),
        json!({ "email": EMAIL, "password": null }),
        json!({ "Email": EMAIL, "Password": PASSWORD }),
        json!({ "username": EMAIL, "password": PASSWORD }),
    ];
    let form_cases = [
        "",
        "email=input%40example.com",
        "password=correct+horse+battery",
        "email=&password=",
        "email&password",
    ];
    for path in BODY_PATHS {
        for body in &json_cases {
            let response = post(&app, path, "application/json", body.to_string()).await;
            assert_json_error(
                &format!("{path} with {body}"),
                &response,
                400,
                "missing_credentials",
            );
        }
        for body in form_cases {
            let response = post(&app, path, "application/x-www-form-urlencoded", body).await;
            assert_json_error(
                &format!("{path} with the form {body:?}"),
                &response,
                400,
                "missing_credentials",
            );
        }
    }
}

async fn wrongly_typed_fields_are_400_invalid_field_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let wrong = [
        json!(42),
        json!(true),
        json!([EMAIL]),
        json!({ "value": EMAIL }),
        json!(1.5),
    ];
    for path in BODY_PATHS {
        for value in &wrong {
            for field in ["email", "password"] {
                let mut body = json!({ "email": EMAIL, "password": PASSWORD });
                body[field] = value.clone();
                let response = post(&app, path, "application/json", body.to_string()).await;
                let context = format!("{path} with {body}");
                assert_json_error(&context, &response, 400, "invalid_field");
                let message = response.json()["message"].as_str().unwrap().to_owned();
                assert!(
                    message.contains(field),
                    "{context}: the reason names {field}: {message}"
                );
            }
        }
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

async fn extra_fields_are_ignored_and_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let chosen_id = "00000000-0000-4000-8000-000000000001";
    let chosen_hash = "$2b$04$abcdefghijklmnopqrstuuK0lJ8h8jJYdK1sJQyVYbCkS5Q2eV2W6";
    let body = json!({
        "email": EMAIL,
        "password": PASSWORD,
        "id": chosen_id,
        "user": { "id": chosen_id },
        "is_admin": true,
        "password_hash": chosen_hash,
        "created_at": "1970-01-01T00:00:00Z",
    });
    let signup = post(&app, "/signup", "application/json", body.to_string()).await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    let user = signup.json()["user"].clone();
    assert_eq!(
        user.as_object().unwrap().len(),
        2,
        "only id and email: {user}"
    );
    assert_ne!(user["id"], chosen_id);
    assert_eq!(user["email"], EMAIL);

    let pool = app.db.pool().await;
    let hash: String = sqlx::query_scalar(&format!(
        "SELECT password_hash FROM users WHERE email = '{EMAIL}'"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_ne!(hash, chosen_hash);

    let form = format!(
        "email=form%40example.com&password=correct+horse+battery&id={chosen_id}&is_admin=1"
    );
    let signup = post(&app, "/signup", "application/x-www-form-urlencoded", form).await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    assert_ne!(signup.json()["user"]["id"], chosen_id);

    let login = post(&app, "/login", "application/json", body.to_string()).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let login = login.json();
    assert_eq!(
        login.as_object().unwrap().len(),
        4,
        "token, token_type, expires_in, refresh_token: {login}"
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
}

on_both_backends!(a_json_body_repeating_a_credential_field_is_refused_like_a_repeated_form_field);

/// A form that names `email` twice is `400 invalid_field`; the same request as JSON must not
/// silently use one of the two (a proxy or WAF may read the other one).
async fn a_json_body_repeating_a_credential_field_is_refused_like_a_repeated_form_field(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup(EMAIL, PASSWORD).await.status(), 201);
    for path in BODY_PATHS {
        let form =
            "email=other%40example.com&email=input%40example.com&password=correct+horse+battery";
        let response = post(&app, path, "application/x-www-form-urlencoded", form).await;
        assert_json_error(
            &format!("{path} with a form repeating email"),
            &response,
            400,
            "invalid_field",
        );
        let bodies = [
            format!(r#"{{"email":"other@example.com","email":"{EMAIL}","password":"{PASSWORD}"}}"#),
            format!(
                r#"{{"email":"{EMAIL}","password":"wrong password here","password":"{PASSWORD}"}}"#
            ),
        ];
        for body in bodies {
            let response = post(&app, path, "application/json", body.clone()).await;
            assert_json_error(
                &format!("{path} with {body}"),
                &response,
                400,
                "invalid_field",
            );
        }
    }
}

async fn null_bytes_in_fields_are_4xx_json_and_never_truncate_a_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup(EMAIL, PASSWORD).await.status(), 201);
    let json_cases = [
        (
            "/signup",
            json!({ "email": "nul\u{0}@example.com", "password": PASSWORD }),
            422,
            "invalid_email",
        ),
        (
            "/signup",
            json!({ "email": "new@example.com\u{0}", "password": PASSWORD }),
            422,
            "invalid_email",
        ),
        (
            "/signup",
            json!({ "email": "new@example.com", "password": "correct\u{0}horse battery" }),
            422,
            "password_invalid_character",
        ),
        (
            "/login",
            json!({ "email": "input\u{0}@example.com", "password": PASSWORD }),
            422,
            "invalid_email",
        ),
        (
            "/login",
            json!({ "email": format!("{EMAIL}\u{0}"), "password": PASSWORD }),
            422,
            "invalid_email",
        ),
        // bcrypt implementations in C stop at a NUL: the password must be compared whole.
        (
            "/login",
            json!({ "email": EMAIL, "password": format!("{PASSWORD}\u{0}") }),
            401,
            "invalid_credentials",
        ),
        (
            "/login",
            json!({ "email": EMAIL, "password": format!("{PASSWORD}\u{0}anything") }),
            401,
            "invalid_credentials",
        ),
        (
            "/login",
            json!({ "email": EMAIL, "password": "\u{0}" }),
            401,
            "invalid_credentials",
        ),
    ];
    for (path, body, status, code) in json_cases {
        let response = post(&app, path, "application/json", body.to_string()).await;
        assert_json_error(&format!("{path} with {body}"), &response, status, code);
    }
    let form_cases = [
        (
            "/signup",
            "email=nul%00%40example.com&password=correct+horse+battery",
            422,
            "invalid_email",
        ),
        (
            "/signup",
            "email=new%40example.com&password=correct%00horse+battery",
            422,
            "password_invalid_character",
        ),
        (
            "/login",
            "email=input%40example.com%00&password=correct+horse+battery",
            422,
            "invalid_email",
        ),
        (
            "/login",
            "email=input%40example.com&password=correct+horse+battery%00",
            401,
            "invalid_credentials",
        ),
    ];
    for (path, body, status, code) in form_cases {
        let response = post(&app, path, "application/x-www-form-urlencoded", body).await;
        assert_json_error(
            &format!("{path} with the form {body}"),
            &response,
            status,
            code,
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 1, "no user with a NUL was created");
    assert_eq!(
        app.login(EMAIL, PASSWORD).await.status(),
        200,
        "the real password still works"
    );
}

async fn a_wrong_content_type_is_415_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({ "email": EMAIL, "password": PASSWORD }).to_string();
    let types = [
        "text/plain",
        "text/json",
        "application/xml",
        "application/octet-stream",
        "multipart/form-data; boundary=xyz",
        "application/jsonx",
        "application/json-patch+json",
        "application/x-www-form-urlencoded-x",
    ];
    for path in BODY_PATHS {
        for content_type in types {
            let response = post(&app, path, content_type, body.clone()).await;
            assert_json_error(
                &format!("{path} as {content_type}"),
                &response,
                415,
                "unsupported_media_type",
            );
        }
        let response = Captured::from(
            app.client
                .post(app.url(path))
                .body(body.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_json_error(
            &format!("{path} with a body and no content type"),
            &response,
            415,
            "unsupported_media_type",
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db.pool().await)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

async fn a_json_content_type_with_a_charset_parameter_or_in_upper_case_works(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({ "email": EMAIL, "password": PASSWORD }).to_string();
    let signup = post(
        &app,
        "/signup",
        "application/json; charset=utf-8",
        body.clone(),
    )
    .await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    for content_type in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "Application/JSON",
        "application/json",
    ] {
        let login = post(&app, "/login", content_type, body.clone()).await;
        assert_eq!(login.status, 200, "{content_type}: {}", login.body);
        let token = login.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(
            app.profile_with_bearer(&token).await.status(),
            200,
            "{content_type}"
        );
    }
    let form = "email=input%40example.com&password=correct+horse+battery";
    let login = post(
        &app,
        "/login",
        "application/x-www-form-urlencoded; charset=UTF-8",
        form,
    )
    .await;
    assert_eq!(login.status, 200, "form with a charset: {}", login.body);
}

async fn a_form_password_with_plus_and_percent_20_round_trips_to_a_json_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let raw = "email=Plus%40Example.com&password=correct+horse%20battery%2Bstaple%25+";
    let decoded = "correct horse battery+staple% ";
    let signup = post(&app, "/signup", "application/x-www-form-urlencoded", raw).await;
    assert_eq!(signup.status, 201, "{}", signup.body);
    assert_eq!(signup.json()["user"]["email"], "plus@example.com");

    let login = Captured::from(app.login("plus@example.com", decoded).await).await;
    assert_eq!(
        login.status, 200,
        "the decoded password logs in: {}",
        login.body
    );
    for undecoded in [
        "correct+horse%20battery%2Bstaple%25+",
        "correct horse battery staple% ",
        "correct horse battery+staple%",
    ] {
        let login = Captured::from(app.login("plus@example.com", undecoded).await).await;
        assert_json_error(
            &format!("password {undecoded:?}"),
            &login,
            401,
            "invalid_credentials",
        );
    }
}

async fn responses_carrying_a_token_are_marked_no_store(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.signup(EMAIL, PASSWORD).await.status(), 201);
    let login = Captured::from(app.login(EMAIL, PASSWORD).await).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(
        login.header("cache-control"),
        Some("no-store"),
        "login: {:?}",
        login.headers
    );
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let form = Captured::from(
        app.post_form("/login", &[("email", EMAIL), ("password", PASSWORD)])
            .await,
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(
        form.header("cache-control"),
        Some("no-store"),
        "form login: {:?}",
        form.headers
    );
    for (transport, response) in [
        ("query", app.profile_with_query(&token).await),
        ("bearer", app.profile_with_bearer(&token).await),
    ] {
        let profile = Captured::from(response).await;
        assert_eq!(profile.status, 200, "{transport}: {}", profile.body);
        assert_eq!(
            profile.json()["token"],
            token.as_str(),
            "{transport}: the profile echoes the token"
        );
        assert_eq!(
            profile.header("cache-control"),
            Some("no-store"),
            "profile via {transport}: {:?}",
            profile.headers
        );
    }
}

async fn every_response_carries_nosniff_errors_included(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.token_for(EMAIL, PASSWORD).await;
    let json = "application/json";
    let responses = [
        (
            "signup 201",
            201,
            post(
                &app,
                "/signup",
                json,
                json!({ "email": "b@example.com", "password": PASSWORD }).to_string(),
            )
            .await,
        ),
        (
            "signup 409",
            409,
            post(
                &app,
                "/signup",
                json,
                json!({ "email": EMAIL, "password": PASSWORD }).to_string(),
            )
            .await,
        ),
        (
            "signup 422",
            422,
            post(
                &app,
                "/signup",
                json,
                json!({ "email": "nope", "password": PASSWORD }).to_string(),
            )
            .await,
        ),
        ("signup 400", 400, post(&app, "/signup", json, "{").await),
        (
            "signup 415",
            415,
            post(&app, "/signup", "text/plain", "x").await,
        ),
        (
            "signup 413",
            413,
            post(&app, "/signup", json, padded_credentials(64 * 1024)).await,
        ),
        (
            "login 200",
            200,
            Captured::from(app.login(EMAIL, PASSWORD).await).await,
        ),
        (
            "login 401",
            401,
            Captured::from(app.login(EMAIL, "wrong password here").await).await,
        ),
        (
            "profile 200",
            200,
            Captured::from(app.profile_with_bearer(&token).await).await,
        ),
        (
            "profile 401",
            401,
            Captured::from(app.profile_with_bearer("forged.token.here").await).await,
        ),
        (
            "profile 401 without a token",
            401,
            Captured::from(
                app.client
                    .get(app.url("/user/profile"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await,
        ),
        (
            "unknown route 404",
            404,
            Captured::from(app.client.get(app.url("/nope")).send().await.unwrap()).await,
        ),
        (
            "GET /signup 405",
            405,
            Captured::from(app.client.get(app.url("/signup")).send().await.unwrap()).await,
        ),
        (
            "health 200",
            200,
            Captured::from(app.client.get(app.url("/health")).send().await.unwrap()).await,
        ),
    ];
    for (label, status, response) in responses {
        assert_eq!(response.status, status, "{label}: {}", response.body);
        let values: Vec<_> = response
            .headers
            .get_all("x-content-type-options")
            .iter()
            .collect();
        assert_eq!(values, ["nosniff"], "{label}: {:?}", response.headers);
    }
}

async fn framework_errors_are_json_unknown_route_404_and_wrong_method_405(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cases = [
        (
            "GET /nope",
            app.client.get(app.url("/nope")),
            404,
            "not_found",
        ),
        ("GET /", app.client.get(app.url("/")), 404, "not_found"),
        (
            "POST /nope",
            app.client.post(app.url("/nope")).json(&json!({})),
            404,
            "not_found",
        ),
        (
            "GET /signup/extra",
            app.client.get(app.url("/signup/extra")),
            404,
            "not_found",
        ),
        (
            "GET /signup",
            app.client.get(app.url("/signup")),
            405,
            "method_not_allowed",
        ),
        (
            "GET /login",
            app.client.get(app.url("/login")),
            405,
            "method_not_allowed",
        ),
        (
            "PUT /login",
            app.client
                .put(app.url("/login"))
                .json(&json!({ "email": EMAIL, "password": PASSWORD })),
            405,
            "method_not_allowed",
        ),
        (
            "DELETE /signup",
            app.client.delete(app.url("/signup")),
            405,
            "method_not_allowed",
        ),
    ];
    for (label, request, status, code) in cases {
        let response = Captured::from(request.send().await.unwrap()).await;
        assert_json_error(label, &response, status, code);
        if status == 405 {
            // RFC 9110 §15.5.6: a 405 names the methods the resource does support.
            let allow = response
                .header("allow")
                .unwrap_or_else(|| panic!("{label}: no Allow header: {:?}", response.headers));
            assert!(
                allow.split(',').any(|m| m.trim() == "POST"),
                "{label}: Allow: {allow}"
            );
        }
    }
    let body: Value = Captured::from(app.client.get(app.url("/nope")).send().await.unwrap())
        .await
        .json();
    assert!(
        !body.to_string().contains("nope"),
        "the path is not echoed: {body}"
    );
}
