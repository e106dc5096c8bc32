//! Second factor (contract v3): TOTP enrolment, the two-step login, `amr` in every token,
//! replay refusal on every instance, recovery codes, step-up (RFC 9470).
//!
//! Codes are computed here with a second RFC 6238 implementation (`hmac` + `sha1`), checked
//! against RFC 6238 Appendix B, never with the server's crate. Every test first waits for a
//! time step with at least 12 s left, so the steps it uses (the current one and one either
//! side) stay acceptable while it runs.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use passport_e2e::{Backend, Captured, TestApp, TestInstance, claims_of, on_both_backends};
use serde_json::{Value, json};
use sha1::Sha1;
use tokio::task::JoinSet;

const PASSWORD: &str = "correct horse battery";

on_both_backends!(
    enrolment_two_step_login_amr_replay_recovery_and_removal,
    step_up_refuses_sessions_without_otp_with_the_rfc_9470_challenge,
    bad_codes_and_bad_mfa_tokens_never_yield_a_token,
    wrong_codes_count_for_the_account_throttle_and_a_right_password_never_clears_it,
    concurrent_logins_with_one_code_yield_exactly_one_token,
    browser_sessions_enrol_step_up_and_finish_the_login_by_cookie,
);

// --- An independent RFC 6238 (SHA-1, 6 digits, 30 s) -------------------------------------

fn hotp(key: &[u8], counter: u64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    format!("{:06}", binary % 1_000_000)
}

/// RFC 4648 base 32, padding optional.
fn base32_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.trim_end_matches('=').chars() {
        let value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            .find(c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("not base 32: {text}")) as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// The code of time step `step` for a base-32 secret.
fn code(secret: &str, step: u64) -> String {
    hotp(&base32_decode(secret), step)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The current step, once at least 12 s of it are left (waits for the next one otherwise).
async fn fresh_step() -> u64 {
    let now = unix_now();
    if 30 - now % 30 < 12 {
        tokio::time::sleep(Duration::from_secs(30 - now % 30)).await;
    }
    unix_now() / 30
}

#[test]
fn the_tests_totp_matches_rfc_6238_appendix_b() {
    let key = b"12345678901234567890";
    for (time, expected) in [
        (59u64, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        // Appendix B lists 8 digits; 6 digits are the same value modulo 10^6.
        assert_eq!(hotp(key, time / 30), expected[2..], "T = {time}");
    }
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), key);
}

// --- Helpers ------------------------------------------------------------------------------

async fn post(app: &TestInstance, path: &str, token: Option<&str>, body: Value) -> Captured {
    let mut request = app.client.post(app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Captured::from(request.send().await.unwrap()).await
}

async fn delete(app: &TestInstance, path: &str, token: &str, body: Value) -> Captured {
    let request = app
        .client
        .delete(app.url(path))
        .bearer_auth(token)
        .json(&body);
    Captured::from(request.send().await.unwrap()).await
}

fn amr(token: &str) -> Value {
    claims_of(token)["amr"].clone()
}

/// Signs up `email`, logs in, enrols and confirms TOTP with the code of `step - 1`.
/// Returns (the enrolling session's token, the secret, the recovery codes).
async fn enabled_user(app: &TestApp, email: &str, step: u64) -> (String, String, Vec<String>) {
    let token = app.token_for(email, PASSWORD).await;
    let enrol = post(
        app,
        "/user/mfa/totp",
        Some(&token),
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(enrol.status, 200, "{}", enrol.body);
    let secret = enrol.json()["secret"].as_str().unwrap().to_owned();
    let confirm = post(
        app,
        "/user/mfa/totp/confirm",
        Some(&token),
        json!({ "code": code(&secret, step - 1) }),
    )
    .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let codes = confirm.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (token, secret, codes)
}

/// A password login of a TOTP user: asserts the `mfa_required` body, returns the token.
async fn mfa_token(app: &TestInstance, email: &str) -> String {
    let login = Captured::from(app.login(email, PASSWORD).await).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let body = login.json();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert_eq!(body["expires_in"], 300, "{body}");
    assert!(
        body.get("token").is_none() && body.get("refresh_token").is_none(),
        "{body}"
    );
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn login_mfa(app: &TestInstance, body: Value) -> Captured {
    post(app, "/login/mfa", None, body).await
}

fn assert_no_token(response: &Captured) {
    assert!(
        !response.body.contains("\"token\"") && !response.body.contains("refresh_token"),
        "{}",
        response.body
    );
}

// --- Tests --------------------------------------------------------------------------------

async fn enrolment_two_step_login_amr_replay_recovery_and_removal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let email = "totp@example.com";
    let step = fresh_step().await;

    // Before: a password login's token says pwd.
    let token = app.token_for(email, PASSWORD).await;
    assert_eq!(amr(&token), json!(["pwd"]));
    let other = app.login_pair(email, PASSWORD).await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Enrolment needs the password; a new call replaces the pending secret.
    post(
        &app,
        "/user/mfa/totp",
        Some(&token),
        json!({ "password": "wrong password!" }),
    )
    .await
    .assert_error(403, "invalid_credentials");
    let first = post(
        &app,
        "/user/mfa/totp",
        Some(&token),
        json!({ "password": PASSWORD }),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let first_secret = first.json()["secret"].as_str().unwrap().to_owned();
    let uri = first.json()["otpauth_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        uri.contains(&format!("secret={first_secret}")) && uri.contains("issuer="),
        "{uri}"
    );
    assert!(base32_decode(&first_secret).len() >= 16);
    let again = post(
        &app,
        "/user/mfa/totp",
        Some(&token),
        json!({ "password": PASSWORD }),
    )
    .await;
    let secret = again.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, first_secret);
    post(
        &app,
        "/user/mfa/totp/confirm",
        Some(&token),
        json!({ "code": code(&first_secret, step) }),
    )
    .await
    .assert_error(400, "invalid_code");
    post(
        &app,
        "/user/mfa/totp/confirm",
        Some(&token),
        json!({ "code": "000000" }),
    )
    .await
    .assert_error(400, "invalid_code");

    // Confirmation: 10 distinct recovery codes; every other session ends.
    let confirm = post(
        &app,
        "/user/mfa/totp/confirm",
        Some(&token),
        json!({ "code": code(&secret, step - 1) }),
    )
    .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let codes: Vec<String> = confirm.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        codes.iter().collect::<std::collections::HashSet<_>>().len(),
        10
    );
    assert!(
        codes
            .iter()
            .all(|c| c.chars().filter(char::is_ascii_alphanumeric).count() >= 10)
    );
    assert!(!confirm.body.contains(&secret));
    assert_eq!(
        app.profile_status(&token).await,
        200,
        "the enrolling session stays"
    );
    let ended = passport_e2e::within(Duration::from_secs(2), || async {
        app.profile_status(&other).await == 401
    })
    .await;
    assert!(ended.is_some(), "the other session ended");
    // The secret is never shown again.
    let pool = app.db.pool().await;
    let stored: String = sqlx::query_scalar("SELECT secret FROM totp_factors")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!stored.contains(&secret), "the secret is encrypted at rest");

    // Two-step login: the code of this step → pwd + otp; a refresh keeps it.
    let mfa = mfa_token(&app, email).await;
    let done = login_mfa(
        &app,
        json!({ "mfa_token": mfa, "code": code(&secret, step) }),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let pair = done.json();
    let strong = pair["token"].as_str().unwrap().to_owned();
    assert_eq!(amr(&strong), json!(["pwd", "otp"]));
    let refreshed = app.refresh(pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(
        amr(refreshed.json()["token"].as_str().unwrap()),
        json!(["pwd", "otp"])
    );
    // The mfa_token is used up.
    login_mfa(
        &app,
        json!({ "mfa_token": mfa, "code": code(&secret, step + 1) }),
    )
    .await
    .assert_error(400, "invalid_grant");

    // Replay: the accepted code, and the step before it, are refused; the next step is fine.
    let mfa = mfa_token(&app, email).await;
    for replayed in [code(&secret, step), code(&secret, step - 1)] {
        let refused = login_mfa(&app, json!({ "mfa_token": mfa, "code": replayed })).await;
        refused.assert_error(401, "invalid_code");
        assert_no_token(&refused);
    }
    let next = login_mfa(
        &app,
        json!({ "mfa_token": mfa, "code": code(&secret, step + 1) }),
    )
    .await;
    assert_eq!(next.status, 200, "{}", next.body);

    // Already enabled (from a session with otp): 409.
    post(
        &app,
        "/user/mfa/totp",
        Some(&strong),
        json!({ "password": PASSWORD }),
    )
    .await
    .assert_error(409, "mfa_already_enabled");

    // A recovery code logs in once, and counts as otp.
    let mfa = mfa_token(&app, email).await;
    let recovered = login_mfa(&app, json!({ "mfa_token": mfa, "recovery_code": codes[0] })).await;
    assert_eq!(recovered.status, 200, "{}", recovered.body);
    assert_eq!(
        amr(recovered.json()["token"].as_str().unwrap()),
        json!(["pwd", "otp"])
    );
    let mfa = mfa_token(&app, email).await;
    login_mfa(&app, json!({ "mfa_token": mfa, "recovery_code": codes[0] }))
        .await
        .assert_error(401, "invalid_code");

    // Removal: a wrong code is 403; a recovery code removes TOTP; logins are one step again.
    delete(&app, "/user/mfa/totp", &strong, json!({ "code": "123456" }))
        .await
        .assert_error(403, "invalid_code");
    let removed = delete(&app, "/user/mfa/totp", &strong, json!({ "code": codes[1] })).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let plain = app.login_pair(email, PASSWORD).await;
    assert_eq!(amr(plain["token"].as_str().unwrap()), json!(["pwd"]));
}

async fn step_up_refuses_sessions_without_otp_with_the_rfc_9470_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let step = fresh_step().await;
    let (weak, secret, codes) = enabled_user(&app, "stepup@example.com", step).await;
    assert_eq!(amr(&weak), json!(["pwd"]), "begun before enrolment");
    let requests = [
        (
            "POST",
            "/user/password",
            json!({ "current_password": PASSWORD, "new_password": "another fine passphrase" }),
        ),
        ("DELETE", "/user", json!({ "password": PASSWORD })),
        ("DELETE", "/user/mfa/totp", json!({ "code": codes[0] })),
        ("POST", "/user/mfa/totp", json!({ "password": PASSWORD })),
    ];
    for (method, path, body) in &requests {
        let request = match *method {
            "POST" => app.client.post(app.url(path)),
            _ => app.client.delete(app.url(path)),
        };
        let response =
            Captured::from(request.bearer_auth(&weak).json(body).send().await.unwrap()).await;
        response.assert_error(401, "insufficient_user_authentication");
        let challenge = response.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_user_authentication\""),
            "{method} {path}: {challenge}"
        );
    }
    // Nothing happened: the password and the factor are unchanged.
    let mfa = mfa_token(&app, "stepup@example.com").await;
    let strong = login_mfa(
        &app,
        json!({ "mfa_token": mfa, "code": code(&secret, step) }),
    )
    .await;
    assert_eq!(strong.status, 200, "{}", strong.body);
    let strong = strong.json()["token"].as_str().unwrap().to_owned();
    // With otp, the same request goes through.
    let changed = post(
        &app,
        "/user/password",
        Some(&strong),
        json!({ "current_password": PASSWORD, "new_password": "another fine passphrase" }),
    )
    .await;
    assert_eq!(changed.status, 204, "{}", changed.body);
}

async fn bad_codes_and_bad_mfa_tokens_never_yield_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let step = fresh_step().await;
    let (_, secret, _) = enabled_user(&app, "bad@example.com", step).await;
    let (_, other_secret, _) = enabled_user(&app, "other@example.com", step).await;
    let right = code(&secret, step);

    // Missing fields: 400, nothing counted.
    let mfa = mfa_token(&app, "bad@example.com").await;
    login_mfa(&app, json!({ "mfa_token": mfa }))
        .await
        .assert_error(400, "invalid_request");
    login_mfa(&app, json!({ "code": right }))
        .await
        .assert_error(400, "invalid_request");
    // Unknown, forged and malformed tokens.
    for forged in ["A".repeat(43), "not-a-token".to_owned(), format!("{mfa}x")] {
        let refused = login_mfa(&app, json!({ "mfa_token": forged, "code": right })).await;
        refused.assert_error(400, "invalid_grant");
    }
    // Another user's mfa_token with this user's code: the code is checked against the token's
    // user, so it is wrong.
    let others = mfa_token(&app, "other@example.com").await;
    let crossed = login_mfa(&app, json!({ "mfa_token": others, "code": right })).await;
    crossed.assert_error(401, "invalid_code");
    assert_ne!(right, code(&other_secret, step));

    // Five wrong codes (wrong length, non-digits, whitespace, replay of the confirmation's
    // step), then even the right code finds the token dead.
    let bad = [
        right[..5].to_owned(),
        format!("{right}0"),
        "12a45b".to_owned(),
        format!(" {right}"),
        code(&secret, step - 1),
    ];
    for wrong in &bad {
        let refused = login_mfa(&app, json!({ "mfa_token": mfa, "code": wrong })).await;
        refused.assert_error(401, "invalid_code");
        assert_no_token(&refused);
    }
    let dead = login_mfa(&app, json!({ "mfa_token": mfa, "code": right })).await;
    dead.assert_error(400, "invalid_grant");
    assert_no_token(&dead);

    // An expired mfa_token (its expiry moved into the past in the database).
    let mfa = mfa_token(&app, "bad@example.com").await;
    let pool = app.db.pool().await;
    sqlx::query("UPDATE mfa_challenges SET expires_at = 0")
        .execute(&pool)
        .await
        .unwrap();
    login_mfa(&app, json!({ "mfa_token": mfa, "code": right }))
        .await
        .assert_error(400, "invalid_grant");
}

async fn wrong_codes_count_for_the_account_throttle_and_a_right_password_never_clears_it(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, |env| {
        env.insert("LOGIN_MAX_FAILURES".into(), "3".into());
    })
    .await;
    let step = fresh_step().await;
    let (email, patient) = ("throttle@example.com", "patient@example.com");
    let (_, secret, _) = enabled_user(&app, email, step).await;
    enabled_user(&app, patient, step).await;

    // Attempt 1 (a right password: not cleared), 2 and 3 (wrong codes); 4: throttled, even
    // with the right code, and the right password too.
    let mfa = mfa_token(&app, email).await;
    for _ in 0..2 {
        login_mfa(&app, json!({ "mfa_token": mfa, "code": "000000" }))
            .await
            .assert_error(401, "invalid_code");
    }
    let throttled = login_mfa(
        &app,
        json!({ "mfa_token": mfa, "code": code(&secret, step) }),
    )
    .await;
    throttled.assert_error(429, "too_many_attempts");
    assert!(throttled.header("retry-after").is_some());
    assert_no_token(&throttled);
    Captured::from(app.login(email, PASSWORD).await)
        .await
        .assert_error(429, "too_many_attempts");

    // Right passwords alone never clear the count either.
    for _ in 0..3 {
        mfa_token(&app, patient).await;
    }
    Captured::from(app.login(patient, PASSWORD).await)
        .await
        .assert_error(429, "too_many_attempts");
}

async fn concurrent_logins_with_one_code_yield_exactly_one_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let step = fresh_step().await;
    let email = "race@example.com";
    let (_, secret, codes) = enabled_user(&app, email, step).await;
    let second = app.spawn_sharing(|_| {}).await;
    let instances = [&*app, &second];

    // Two logins (one per instance), the same code at once: exactly one token.
    let tokens = [
        mfa_token(&app, email).await,
        mfa_token(&second, email).await,
    ];
    let statuses = race(&instances, &tokens, json!({ "code": code(&secret, step) })).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 401].contains(s)),
        "{statuses:?}"
    );

    // A code accepted by one instance is refused by the other.
    let (on_a, on_b) = (
        mfa_token(&app, email).await,
        mfa_token(&second, email).await,
    );
    let next = code(&secret, step + 1);
    let accepted = login_mfa(&app, json!({ "mfa_token": on_a, "code": next })).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    login_mfa(&second, json!({ "mfa_token": on_b, "code": next }))
        .await
        .assert_error(401, "invalid_code");

    // One mfa_token sent to both instances at once: exactly one token.
    let token = mfa_token(&app, email).await;
    let statuses = race(
        &instances,
        &[token.clone(), token],
        json!({ "recovery_code": codes[0] }),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 401].contains(s)),
        "{statuses:?}"
    );
    drop(second);
}

/// Sends `/login/mfa` with `tokens[i]` to `instances[i]`, all at once; returns the statuses.
async fn race(instances: &[&TestInstance; 2], tokens: &[String; 2], proof: Value) -> Vec<u16> {
    let start = Arc::new(tokio::sync::Barrier::new(2));
    let mut tasks = JoinSet::new();
    for (instance, token) in instances.iter().zip(tokens) {
        let mut body = proof.clone();
        body["mfa_token"] = json!(token);
        let request = instance.client.post(instance.url("/login/mfa")).json(&body);
        let start = Arc::clone(&start);
        tasks.spawn(async move {
            start.wait().await;
            request.send().await.unwrap().status().as_u16()
        });
    }
    tasks.join_all().await
}

const COOKIE: &str = "passport_session";

fn by_cookie(request: reqwest::RequestBuilder, value: &str) -> reqwest::RequestBuilder {
    request.header("cookie", format!("{COOKIE}={value}"))
}

/// The value of the session cookie a response set.
fn cookie_set(response: &Captured) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next()?.strip_prefix(&format!("{COOKIE}=")))
        .map(str::to_owned)
}

async fn browser_sessions_enrol_step_up_and_finish_the_login_by_cookie(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let step = fresh_step().await;
    let email = "browser@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    let login = json!({ "email": email, "password": PASSWORD });
    let first = post(&app, "/login?session=cookie", None, login.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let weak = cookie_set(&first).expect("a session cookie");

    // Enrolment and confirmation by cookie.
    let enrol = Captured::from(
        by_cookie(app.client.post(app.url("/user/mfa/totp")), &weak)
            .json(&json!({ "password": PASSWORD }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(enrol.status, 200, "{}", enrol.body);
    let secret = enrol.json()["secret"].as_str().unwrap().to_owned();
    let confirm = Captured::from(
        by_cookie(app.client.post(app.url("/user/mfa/totp/confirm")), &weak)
            .json(&json!({ "code": code(&secret, step - 1) }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);

    // The enrolling cookie session lacks otp: step-up refuses it.
    let refused = Captured::from(
        by_cookie(app.client.post(app.url("/user/mfa/totp")), &weak)
            .json(&json!({ "password": PASSWORD }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused.assert_error(401, "insufficient_user_authentication");

    // A cookie login of a TOTP user asks for the code and sets no cookie.
    let pending = post(&app, "/login?session=cookie", None, login).await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    assert_eq!(pending.json()["mfa_required"], true);
    assert!(cookie_set(&pending).is_none(), "{:?}", pending.headers);
    let mfa = pending.json()["mfa_token"].as_str().unwrap().to_owned();
    let body = json!({ "mfa_token": mfa, "code": code(&secret, step) });

    // From another site: refused before anything is checked; the mfa_token stays usable.
    for header in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let cross = Captured::from(
            app.client
                .post(app.url("/login/mfa?session=cookie"))
                .header(header.0, header.1)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        cross.assert_error(403, "cross_origin_request");
        assert!(cookie_set(&cross).is_none());
    }

    let done = post(&app, "/login/mfa?session=cookie", None, body).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.json()["user"]["email"], email);
    assert_no_token(&done);
    let strong = cookie_set(&done).expect("a session cookie");
    assert_ne!(strong, weak);
    // The strong cookie session passes step-up (then the wrong code is what is refused).
    let removal = Captured::from(
        by_cookie(app.client.delete(app.url("/user/mfa/totp")), &strong)
            .json(&json!({ "code": "000000" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    removal.assert_error(403, "invalid_code");
}
