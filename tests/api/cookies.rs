//! Contract v3, "Browser sessions (cookie)": `POST /login?session=cookie`, the cookie on every
//! guarded route, fixation, logout, every revocation path, the cross-site rules, the sessions
//! list, bad cookies, and two instances on one PostgreSQL — over real TCP, on both backends.

use std::time::Duration;

use passport_e2e::{Backend, Captured, TestApp, TestInstance, claims_of, on_both_backends, within};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    a_cookie_login_answers_the_user_and_an_httponly_cookie_and_no_token,
    the_cookie_is_taken_wherever_a_token_is_and_a_token_is_judged_alone,
    a_cookie_sent_with_the_login_is_never_adopted,
    logout_by_cookie_clears_it_and_the_value_is_refused_afterwards,
    every_revocation_path_ends_the_cookie_session,
    cross_site_requests_by_cookie_are_refused_and_others_pass,
    the_sessions_list_shows_live_sessions_newest_first_and_deletes_only_ones_own,
    bad_cookies_get_a_json_4xx_and_never_a_5xx,
);

const PASSWORD: &str = "correct horse battery";
const NAME: &str = "passport_session";

/// A cookie login: the response and the cookie value it set.
async fn cookie_login(app: &TestInstance, email: &str) -> (Captured, String) {
    let response = Captured::from(
        app.client
            .post(app.url("/login?session=cookie"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let value = set_cookie(&response)
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix(&format!("{NAME}=")))
        .unwrap_or_else(|| panic!("no {NAME} cookie: {:?}", response.headers))
        .to_owned();
    (response, value)
}

fn set_cookie(response: &Captured) -> String {
    let all: Vec<&str> = response
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(all.len(), 1, "one Set-Cookie: {all:?}");
    all[0].to_owned()
}

/// Signs up and logs in by cookie; returns the cookie value.
async fn cookie_for(app: &TestInstance, email: &str) -> String {
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    cookie_login(app, email).await.1
}

async fn send(request: reqwest::RequestBuilder) -> Captured {
    Captured::from(request.send().await.unwrap()).await
}

fn by_cookie(request: reqwest::RequestBuilder, value: &str) -> reqwest::RequestBuilder {
    request.header("cookie", format!("{NAME}={value}"))
}

async fn profile(app: &TestInstance, value: &str) -> Captured {
    send(by_cookie(app.client.get(app.url("/user/profile")), value)).await
}

async fn sessions(app: &TestInstance, value: &str) -> Vec<Value> {
    let listed = send(by_cookie(app.client.get(app.url("/user/sessions")), value)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json()["sessions"].as_array().unwrap().clone()
}

fn token(body: &Value) -> String {
    body["token"].as_str().unwrap().to_owned()
}

async fn a_cookie_login_answers_the_user_and_an_httponly_cookie_and_no_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let signed_up = app.signup("ada@example.com", PASSWORD).await;
    let user = signed_up.json::<Value>().await.unwrap()["user"].clone();
    let (response, value) = cookie_login(&app, "ada@example.com").await;
    assert_eq!(
        response.json(),
        json!({ "user": user }),
        "no token in the body"
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let set = set_cookie(&response);
    let attributes: Vec<&str> = set.split(';').map(str::trim).skip(1).collect();
    for wanted in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP in development: {set}");
    assert!(
        value.len() >= 22
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "an opaque value of at least 128 bits: {value}"
    );

    // Stored only as its hash, in the sessions table.
    let pool = app.db.pool().await;
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT cookie_hash FROM sessions WHERE cookie_hash IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
    let digest: String = Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored, [digest]);

    // The cookie is a credential: the v1 profile body without `token`.
    let me = profile(&app, &value).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json(),
        json!({ "message": "You made it to the secure route", "user": user })
    );

    // Same 401 and throttle rules as a token login; never a cookie.
    let wrong = app
        .client
        .post(app.url("/login?session=cookie"))
        .json(&json!({ "email": "ada@example.com", "password": "wrong password!" }))
        .send()
        .await
        .unwrap();
    assert!(wrong.headers().get("set-cookie").is_none());
    let wrong = Captured::from(wrong).await;
    let unknown = send(
        app.client
            .post(app.url("/login?session=cookie"))
            .json(&json!({ "email": "nobody@example.com", "password": "wrong password!" })),
    )
    .await;
    wrong.assert_error(401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body, "byte-identical");
    send(
        app.client
            .post(app.url("/login?session=jar"))
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD })),
    )
    .await
    .assert_error(400, "invalid_request");
}

async fn the_cookie_is_taken_wherever_a_token_is_and_a_token_is_judged_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = cookie_for(&app, "ada@example.com").await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;

    // A bad token next to a good cookie: the token decides (401), in the header or the query.
    let forged = format!("{}x", token(&login));
    let judged = send(by_cookie(
        app.client
            .get(app.url("/user/profile"))
            .bearer_auth(&forged),
        &cookie,
    ))
    .await;
    assert_eq!(judged.status, 401, "{}", judged.body);
    assert!(
        judged.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("token_"),
        "the token's refusal: {}",
        judged.body
    );
    let judged = send(by_cookie(
        app.client
            .get(app.url("/user/profile"))
            .query(&[("secret_token", &forged)]),
        &cookie,
    ))
    .await;
    assert_eq!(judged.status, 401, "{}", judged.body);
    // A good token next to a bad cookie: the token's answer, with the token echoed.
    let judged = send(by_cookie(
        app.client
            .get(app.url("/user/profile"))
            .bearer_auth(token(&login)),
        "garbage",
    ))
    .await;
    assert_eq!(judged.status, 200, "{}", judged.body);
    assert_eq!(judged.json()["token"], token(&login));

    // Password change by cookie keeps this session and ends the token's.
    let changed = send(by_cookie(
        app.client
            .post(app.url("/user/password"))
            .json(&json!({"current_password": PASSWORD, "new_password": "a new passphrase here"})),
        &cookie,
    ))
    .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
    assert_eq!(profile(&app, &cookie).await.status, 200);
    assert_eq!(app.profile_status(&token(&login)).await, 401);

    // Account deletion by cookie.
    let deleted = send(by_cookie(
        app.client
            .delete(app.url("/user"))
            .json(&json!({"password": "a new passphrase here"})),
        &cookie,
    ))
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    profile(&app, &cookie)
        .await
        .assert_error(401, "invalid_session");
}

async fn a_cookie_sent_with_the_login_is_never_adopted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    app.signup("eve@example.com", PASSWORD).await;
    // A value the server never issued, shaped like one.
    let planted = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let login = send(by_cookie(
        app.client
            .post(app.url("/login?session=cookie"))
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD })),
        planted,
    ))
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(!set_cookie(&login).contains(planted), "a new value is set");
    profile(&app, planted)
        .await
        .assert_error(401, "invalid_session");

    // An attacker's own live session planted in the victim's browser is not taken over by
    // the victim's login: the login gets a value of its own.
    let (_, eve) = cookie_login(&app, "eve@example.com").await;
    let victim = send(by_cookie(
        app.client
            .post(app.url("/login?session=cookie"))
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD })),
        &eve,
    ))
    .await;
    let value = set_cookie(&victim);
    assert!(!value.contains(&eve));
    assert_eq!(
        profile(&app, &eve).await.json()["user"]["email"],
        "eve@example.com"
    );
}

async fn logout_by_cookie_clears_it_and_the_value_is_refused_afterwards(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = cookie_for(&app, "ada@example.com").await;
    assert_eq!(profile(&app, &cookie).await.status, 200);
    let logout = send(by_cookie(app.client.post(app.url("/logout")), &cookie)).await;
    assert_eq!(logout.status, 204, "{}", logout.body);
    let cleared = set_cookie(&logout);
    let attributes: Vec<&str> = cleared.split(';').map(str::trim).collect();
    assert_eq!(attributes[0], format!("{NAME}="), "{cleared}");
    for wanted in ["Max-Age=0", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attributes.contains(&wanted), "{wanted} missing: {cleared}");
    }
    profile(&app, &cookie)
        .await
        .assert_error(401, "invalid_session");
    // Logging out with a token never touches the browser's cookie.
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let by_token = app.logout(&token(&login), None).await;
    assert_eq!(by_token.status, 204);
    assert!(by_token.header("set-cookie").is_none());
}

async fn every_revocation_path_ends_the_cookie_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.signup("ada@example.com", PASSWORD).await;
    let paths = [
        "logout global",
        "logout others",
        "password change",
        "session deletion",
        "account deletion",
    ];
    for path in paths {
        let (_, cookie) = cookie_login(&app, "ada@example.com").await;
        let acting = app.login_pair("ada@example.com", PASSWORD).await;
        assert_eq!(profile(&app, &cookie).await.status, 200, "{path}");
        let status = match path {
            "logout global" => app.logout(&token(&acting), Some("global")).await.status,
            "logout others" => app.logout(&token(&acting), Some("others")).await.status,
            "password change" => {
                let change = |from: &str, to: &str| {
                    let body = json!({"current_password": from, "new_password": to});
                    let request = app.client.post(app.url("/user/password"));
                    send(request.bearer_auth(token(&acting)).json(&body))
                };
                let status = change(PASSWORD, "another passphrase 2").await.status;
                // And back, for the next paths (the acting session survives its own change).
                assert_eq!(change("another passphrase 2", PASSWORD).await.status, 204);
                status
            }
            "session deletion" => {
                let listed = sessions(&app, &cookie).await;
                let current = listed.iter().find(|s| s["current"] == true).unwrap();
                assert_eq!(current["kind"], "cookie");
                let id = current["id"].as_str().unwrap();
                let request = app.client.delete(app.url(&format!("/user/sessions/{id}")));
                send(request.bearer_auth(token(&acting))).await.status
            }
            _ => {
                let request = app.client.delete(app.url("/user"));
                send(
                    request
                        .bearer_auth(token(&acting))
                        .json(&json!({"password": PASSWORD})),
                )
                .await
                .status
            }
        };
        assert_eq!(status, 204, "{path}");
        profile(&app, &cookie)
            .await
            .assert_error(401, "invalid_session");
        let expected = if matches!(
            path,
            "logout others" | "password change" | "session deletion"
        ) {
            200
        } else {
            401
        };
        assert_eq!(
            app.profile_status(&token(&acting)).await,
            expected,
            "{path}"
        );
    }
}

async fn cross_site_requests_by_cookie_are_refused_and_others_pass(backend: Backend) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert(
            "CORS_ALLOWED_ORIGINS".into(),
            "http://localhost:5173".into(),
        );
    })
    .await;
    let cookie = cookie_for(&app, "ada@example.com").await;
    let login = app.login_pair("ada@example.com", PASSWORD).await;
    let own = format!("http://127.0.0.1:{}", app.port);
    let unknown_session = format!("/user/sessions/{}", uuid::Uuid::new_v4());
    // An unsafe request by cookie that changes nothing when it passes: 404.
    let delete = |headers: &[(&str, &str)]| {
        let mut request = by_cookie(app.client.delete(app.url(&unknown_session)), &cookie);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request)
    };
    for (headers, refused) in [
        (vec![("origin", "https://evil.example")], true),
        (vec![("origin", "http://127.0.0.1:1")], true),
        (vec![("origin", "null")], true),
        (vec![("sec-fetch-site", "cross-site")], true),
        (vec![("origin", own.as_str())], false),
        (vec![("origin", "http://localhost:5173")], false),
        (
            vec![("origin", own.as_str()), ("sec-fetch-site", "cross-site")],
            false,
        ),
        (vec![("sec-fetch-site", "same-origin")], false),
        (vec![("sec-fetch-site", "same-site")], false),
        (vec![], false),
    ] {
        let response = delete(&headers).await;
        if refused {
            response.assert_error(403, "cross_origin_request");
        } else {
            response.assert_error(404, "session_not_found");
        }
    }
    let logout = send(
        by_cookie(app.client.post(app.url("/logout")), &cookie)
            .header("origin", "https://evil.example"),
    )
    .await;
    logout.assert_error(403, "cross_origin_request");
    assert!(logout.header("set-cookie").is_none());
    assert_eq!(profile(&app, &cookie).await.status, 200, "still logged in");

    // Reading is not forging: a cross-site GET by cookie passes.
    let read = send(
        by_cookie(app.client.get(app.url("/user/profile")), &cookie)
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
    // An unsafe request by token passes (no ambient credential), even next to the cookie.
    let by_token = send(
        by_cookie(app.client.delete(app.url(&unknown_session)), &cookie)
            .bearer_auth(token(&login))
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    by_token.assert_error(404, "session_not_found");

    // Requests that would set the cookie: a cross-site cookie login is refused, with no cookie.
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let refused = app
            .client
            .post(app.url("/login?session=cookie"))
            .header(header.0, header.1)
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert!(refused.headers().get("set-cookie").is_none());
        Captured::from(refused)
            .await
            .assert_error(403, "cross_origin_request");
    }
    for origin in [own.as_str(), "http://localhost:5173"] {
        let allowed = send(
            app.client
                .post(app.url("/login?session=cookie"))
                .header("origin", origin)
                .json(&json!({ "email": "ada@example.com", "password": PASSWORD })),
        )
        .await;
        assert_eq!(allowed.status, 200, "{origin}: {}", allowed.body);
    }
}

async fn the_sessions_list_shows_live_sessions_newest_first_and_deletes_only_ones_own(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let first = app.token_for("ada@example.com", PASSWORD).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, cookie) = cookie_login(&app, "ada@example.com").await;
    let ended = app.login_pair("ada@example.com", PASSWORD).await;
    assert_eq!(app.logout(&token(&ended), None).await.status, 204);

    let listed = sessions(&app, &cookie).await;
    assert_eq!(listed.len(), 2, "live sessions only: {listed:?}");
    let (newest, oldest) = (&listed[0], &listed[1]);
    assert_eq!(
        (newest["kind"].as_str(), newest["current"].as_bool()),
        (Some("cookie"), Some(true))
    );
    assert_eq!(
        (oldest["kind"].as_str(), oldest["current"].as_bool()),
        (Some("token"), Some(false))
    );
    assert_eq!(oldest["id"], claims_of(&first)["sid"], "the id is the sid");
    assert!(newest["created_at"].as_str() > oldest["created_at"].as_str());
    for session in &listed {
        for field in ["created_at", "last_seen_at"] {
            let time = session[field].as_str().unwrap();
            assert!(
                time.len() == 20 && time.ends_with('Z') && &time[10..11] == "T",
                "RFC 3339 UTC: {time}"
            );
        }
        assert!(session["last_seen_at"].as_str() >= session["created_at"].as_str());
    }
    // By token, the token's session is the current one.
    let by_token = send(
        app.client
            .get(app.url("/user/sessions"))
            .bearer_auth(&first),
    )
    .await;
    let by_token = by_token.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(by_token[1]["current"], true);

    // Another user's session, an ended one, an unknown one, a malformed id: 404, nothing ends.
    let other = app.token_for("eve@example.com", PASSWORD).await;
    let others_sid = claims_of(&other)["sid"].as_str().unwrap().to_owned();
    let ended_sid = claims_of(&token(&ended))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in [
        others_sid.as_str(),
        ended_sid.as_str(),
        &uuid::Uuid::new_v4().to_string(),
        "not-a-uuid",
    ] {
        let request = app.client.delete(app.url(&format!("/user/sessions/{id}")));
        send(by_cookie(request, &cookie))
            .await
            .assert_error(404, "session_not_found");
    }
    assert_eq!(app.profile_status(&other).await, 200);

    // Deleting one's own token session by cookie ends it; deleting the current cookie session
    // ends it and clears the cookie.
    let sid = oldest["id"].as_str().unwrap();
    let request = app.client.delete(app.url(&format!("/user/sessions/{sid}")));
    let deleted = send(by_cookie(request, &cookie)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(deleted.header("set-cookie").is_none());
    assert_eq!(app.profile_status(&first).await, 401);
    let sid = newest["id"].as_str().unwrap();
    let request = app.client.delete(app.url(&format!("/user/sessions/{sid}")));
    let deleted = send(by_cookie(request, &cookie)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(set_cookie(&deleted).contains("Max-Age=0"));
    profile(&app, &cookie)
        .await
        .assert_error(401, "invalid_session");
}

async fn bad_cookies_get_a_json_4xx_and_never_a_5xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let cookie = cookie_for(&app, "ada@example.com").await;
    let huge = "A".repeat(4000);
    for (header, status, code) in [
        (format!("{NAME}="), 401, "token_missing"),
        (format!("{NAME}=garbage"), 401, "invalid_session"),
        (format!("{NAME}={huge}"), 401, "invalid_session"),
        (format!("{NAME}=%00%ff;;;=="), 401, "invalid_session"),
        (format!("{NAME}={}", "é".repeat(22)), 401, "invalid_session"),
        (
            format!("{NAME}={}", claims_of_free_jwt()),
            401,
            "invalid_session",
        ),
        (
            format!("{NAME}={cookie}; {NAME}=garbage"),
            400,
            "invalid_request",
        ),
        ("garbage without equals".to_owned(), 401, "token_missing"),
    ] {
        let response = send(
            app.client
                .get(app.url("/user/profile"))
                .header("cookie", header.as_bytes()),
        )
        .await;
        response.assert_error(status, code);
    }
    // The same value twice is one value.
    let twice = send(
        app.client
            .get(app.url("/user/profile"))
            .header("cookie", format!("{NAME}={cookie}; {NAME}={cookie}")),
    )
    .await;
    assert_eq!(twice.status, 200, "{}", twice.body);
    // Without any credential, the v1 401 with its Bearer challenge.
    let none = send(app.client.get(app.url("/user/profile"))).await;
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer"))
    );
}

/// A JWT-shaped value (what a client might put in the wrong place).
fn claims_of_free_jwt() -> &'static str {
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_secure_the_cookie_is_secure_and_host_prefixed() {
    let app = TestApp::spawn_with(Backend::Sqlite, |env| {
        env.insert("SESSION_COOKIE_SECURE".into(), "true".into());
    })
    .await;
    app.signup("ada@example.com", PASSWORD).await;
    let response = Captured::from(
        app.client
            .post(app.url("/login?session=cookie"))
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let set = set_cookie(&response);
    assert!(set.starts_with("__Host-passport_session="), "{set}");
    let attributes: Vec<&str> = set.split(';').map(str::trim).collect();
    assert!(attributes.contains(&"Secure"), "{set}");
    let value = attributes[0].split_once('=').unwrap().1;
    let me = send(
        app.client
            .get(app.url("/user/profile"))
            .header("cookie", format!("__Host-passport_session={value}")),
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);

    let named = TestApp::spawn_with(Backend::Sqlite, |env| {
        env.insert("SESSION_COOKIE_NAME".into(), "sid".into());
    })
    .await;
    named.signup("ada@example.com", PASSWORD).await;
    let response = Captured::from(
        named
            .client
            .post(named.url("/login?session=cookie"))
            .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(set_cookie(&response).starts_with("sid="));
}

/// Two instances on one PostgreSQL: a cookie logged out on A is refused by B within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_logged_out_on_one_instance_is_refused_by_the_other_within_a_second() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.spawn_sharing(|_| {}).await;
    a.signup("ada@example.com", PASSWORD).await;
    for ending in ["logout", "session deletion", "global logout by token"] {
        let (_, cookie) = cookie_login(&a, "ada@example.com").await;
        for _ in 0..3 {
            assert_eq!(profile(&b, &cookie).await.status, 200, "{ending}");
        }
        match ending {
            "logout" => {
                let done = send(by_cookie(a.client.post(a.url("/logout")), &cookie)).await;
                assert_eq!(done.status, 204);
            }
            "session deletion" => {
                let sid = sessions(&a, &cookie)
                    .await
                    .into_iter()
                    .find(|s| s["current"] == true)
                    .unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let request = a.client.delete(a.url(&format!("/user/sessions/{sid}")));
                assert_eq!(send(by_cookie(request, &cookie)).await.status, 204);
            }
            _ => {
                let login = a.login_pair("ada@example.com", PASSWORD).await;
                assert_eq!(a.logout(&token(&login), Some("global")).await.status, 204);
            }
        }
        within(Duration::from_secs(1), || async {
            profile(&b, &cookie).await.status == 401
        })
        .await
        .unwrap_or_else(|| panic!("{ending}: B still accepts the cookie after 1 s"));
        assert_eq!(profile(&a, &cookie).await.status, 401, "{ending}");
    }
}
