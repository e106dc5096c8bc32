//! Mail (contract v3): password reset, magic links and verified signups, delivered by the
//! outbox to a real SMTP server on loopback (`tests/smtp/server.py`, python3-aiosmtpd).

use std::time::{Duration, Instant};

use passport_e2e::smtp::{ReceivedMail, SmtpServer};
use passport_e2e::{Backend, Captured, TestApp, median, on_both_backends, within};
use serde_json::{Value, json};

const PUBLIC_URL: &str = "https://auth.example.test";
const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";
/// Longer than the outbox needs (it is woken at once); a failing test waits this long.
const MAIL_WAIT: Duration = Duration::from_secs(20);

const FORGOT_BODY: &str =
    r#"{"message":"If that address has an account, a link to reset its password is on its way"}"#;
const SIGNUP_BODY: &str = r#"{"message":"Check your inbox to confirm your address"}"#;

async fn mail_app(backend: Backend, smtp: &SmtpServer, settings: &[(&str, &str)]) -> TestApp {
    let url = smtp.url();
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    TestApp::spawn_with(backend, move |env| {
        for (k, v) in [
            ("SMTP_URL", url.as_str()),
            ("PUBLIC_URL", PUBLIC_URL),
            ("MAIL_FROM", "Passport <no-reply@example.test>"),
            ("MAIL_RESEND_SECONDS", "0"),
            ("MAIL_POLL_SECONDS", "1"),
            ("MAIL_RETRY_MAX_SECONDS", "1"),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
        for (k, v) in settings {
            env.insert(k, v);
        }
    })
    .await
}

async fn post(app: &TestApp, path: &str, body: Value) -> Captured {
    Captured::from(app.post_json(path, &body).await).await
}

/// The token of the `n`-th (1-based) mail to `address`, a link to `path`.
async fn nth_token(smtp: &SmtpServer, address: &str, n: usize, path: &str) -> String {
    let mails = smtp.wait_for(address, n, MAIL_WAIT).await;
    mails[n - 1].token(PUBLIC_URL, path)
}

/// Waits until no mail is waiting in the outbox.
async fn outbox_drained(app: &TestApp) {
    let pool = app.db.pool().await;
    let drained = within(MAIL_WAIT, || {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT CAST(count(*) AS BIGINT) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            n == 0
        }
    })
    .await;
    assert!(drained.is_some(), "the outbox did not drain");
}

fn assert_invalid_link(response: &Captured, reference: &Captured) {
    response.assert_error(400, "invalid_link");
    assert_eq!(response.body, reference.body, "one body for every bad link");
}

async fn forgot_and_reset(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[("LOGIN_MAX_FAILURES", "2")]).await;
    let email = "ada@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    let session = app.login_pair(email, PASSWORD).await;
    let access = session["token"].as_str().unwrap().to_owned();
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();

    // Unknown and registered: the same 202 bytes; only the registered address gets a mail.
    let unknown = post(
        &app,
        "/password/forgot",
        json!({ "email": "ghost@example.com" }),
    )
    .await;
    let known = post(&app, "/password/forgot", json!({ "email": email })).await;
    for answer in [&unknown, &known] {
        assert_eq!(answer.status, 202);
        assert_eq!(answer.body, FORGOT_BODY);
    }
    let mail = &smtp.wait_for(email, 1, MAIL_WAIT).await[0];
    assert_eq!(mail.to, email);
    assert!(
        mail.raw.contains("Content-Type: text/plain"),
        "{}",
        mail.raw
    );
    let first = mail.token(PUBLIC_URL, "/reset-password");
    assert!(!mail.body.contains("password_hash") && !mail.body.contains(PASSWORD));

    // A newer link makes the older one invalid.
    post(&app, "/password/forgot", json!({ "email": email })).await;
    let token = nth_token(&smtp, email, 2, "/reset-password").await;
    let reference = post(
        &app,
        "/password/reset",
        json!({ "token": first, "new_password": NEW_PASSWORD }),
    )
    .await;
    reference.assert_error(400, "invalid_link");
    let truncated = &token[..token.len() - 1];
    let huge = "A".repeat(4000);
    for bad in [truncated, huge.as_str(), "", "not a token", "../../etc"] {
        let response = post(
            &app,
            "/password/reset",
            json!({ "token": bad, "new_password": NEW_PASSWORD }),
        )
        .await;
        assert_invalid_link(&response, &reference);
    }

    // An unused magic link dies with the reset.
    post(&app, "/login/email", json!({ "email": email })).await;
    let magic = nth_token(&smtp, email, 3, "/magic-login").await;

    // The account is throttled before the reset.
    for _ in 0..3 {
        app.login(email, "wrong horse battery").await;
    }
    assert_eq!(app.login(email, PASSWORD).await.status(), 429);

    // A new password that breaks the policy: 422, and the link still works.
    let weak = post(
        &app,
        "/password/reset",
        json!({ "token": token, "new_password": "password" }),
    )
    .await;
    weak.assert_error(422, "password_too_common");
    let done = post(
        &app,
        "/password/reset",
        json!({ "token": token, "new_password": NEW_PASSWORD }),
    )
    .await;
    assert_eq!(done.status, 204, "{}", done.body);

    // Used up; every session revoked; throttle cleared; the magic link dead.
    let again = post(
        &app,
        "/password/reset",
        json!({ "token": token, "new_password": NEW_PASSWORD }),
    )
    .await;
    assert_invalid_link(&again, &reference);
    assert!(
        within(Duration::from_secs(1), || async {
            app.profile_status(&access).await == 401
        })
        .await
        .is_some(),
        "the old session's token still works"
    );
    app.refresh(&refresh)
        .await
        .assert_error(400, "invalid_grant");
    let magic_login = post(&app, "/login/email/verify", json!({ "token": magic })).await;
    assert_invalid_link(&magic_login, &reference);
    assert_eq!(app.login(email, PASSWORD).await.status(), 401);
    assert_eq!(app.login(email, NEW_PASSWORD).await.status(), 200);
}

/// The Prometheus text of the app's metrics listener.
async fn scrape(app: &TestApp) -> String {
    let port = app.metrics_port.expect("METRICS_ADDR is set");
    let url = format!("http://127.0.0.1:{port}/metrics");
    app.client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The audit events recorded, as (event, outcome).
async fn audit_events(app: &TestApp) -> Vec<(String, String)> {
    let pool = app.db.pool().await;
    sqlx::query_as("SELECT event, outcome FROM audit_events ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap()
}

async fn magic_link_login(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let email = "grace@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);

    let unknown = post(
        &app,
        "/login/email",
        json!({ "email": "nobody@example.com" }),
    )
    .await;
    let known = post(&app, "/login/email", json!({ "email": email })).await;
    assert_eq!((unknown.status, &unknown.body), (202, &known.body));
    let token = nth_token(&smtp, email, 1, "/magic-login").await;

    let login = post(&app, "/login/email/verify", json!({ "token": token })).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let body = login.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string());
    let profile = app
        .profile_with_bearer(body["token"].as_str().unwrap())
        .await;
    assert_eq!(profile.status(), 200);

    let reused = post(&app, "/login/email/verify", json!({ "token": token })).await;
    reused.assert_error(400, "invalid_link");
    let unknown = post(
        &app,
        "/login/email/verify",
        json!({ "token": "A".repeat(43) }),
    )
    .await;
    assert_invalid_link(&unknown, &reused);
    // A reset link is not a login link.
    post(&app, "/password/forgot", json!({ "email": email })).await;
    let reset = nth_token(&smtp, email, 2, "/reset-password").await;
    let wrong_purpose = post(&app, "/login/email/verify", json!({ "token": reset })).await;
    assert_invalid_link(&wrong_purpose, &reused);

    // Metrics: two mails queued and sent; the outbox empty. Audit: the login and the refusals.
    outbox_drained(&app).await;
    let metrics = within(MAIL_WAIT, || async {
        let text = scrape(&app).await;
        text.contains("passport_mail_outbox_depth 0")
            && text.contains(r#"passport_mail_sent_total{kind="magic_login"} 1"#)
    })
    .await;
    assert!(metrics.is_some(), "{}", scrape(&app).await);
    let text = scrape(&app).await;
    for line in [
        r#"passport_mail_queued_total{kind="magic_login"} 1"#,
        r#"passport_mail_queued_total{kind="password_reset"} 1"#,
        r#"passport_mail_sent_total{kind="password_reset"} 1"#,
        r#"passport_mail_failures_total{kind="magic_login"} 0"#,
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    let events = audit_events(&app).await;
    let magic: Vec<&str> = events
        .iter()
        .filter(|(event, _)| event == "magic_link_login")
        .map(|(_, outcome)| outcome.as_str())
        .collect();
    assert_eq!(magic, ["success", "failure", "failure", "failure"]);
}

async fn verified_signup(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[("EMAIL_VERIFICATION", "required")]).await;
    let email = "lin@example.com";

    // New address: 202, no user object; login waits for the confirmation.
    let signup = Captured::from(app.signup(email, PASSWORD).await).await;
    assert_eq!((signup.status, signup.body.as_str()), (202, SIGNUP_BODY));
    let refused = Captured::from(app.login(email, PASSWORD).await).await;
    refused.assert_error(403, "email_not_verified");
    let wrong = Captured::from(app.login(email, "wrong horse battery").await).await;
    wrong.assert_error(401, "invalid_credentials");
    // No magic link for an unconfirmed address.
    post(&app, "/login/email", json!({ "email": email })).await;

    let token = nth_token(&smtp, email, 1, "/verify-email").await;
    let bad_password = post(
        &app,
        "/email/verify",
        json!({ "token": token, "password": "wrong horse battery" }),
    )
    .await;
    bad_password.assert_error(403, "invalid_credentials");
    let verified = post(
        &app,
        "/email/verify",
        json!({ "token": token, "password": PASSWORD }),
    )
    .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert!(verified.json()["token"].is_string());
    post(
        &app,
        "/email/verify",
        json!({ "token": token, "password": PASSWORD }),
    )
    .await
    .assert_error(400, "invalid_link");
    assert_eq!(app.login(email, PASSWORD).await.status(), 200);

    // A registered address: the same 202; a notice without a link.
    let again = Captured::from(app.signup(email, "another good passphrase").await).await;
    assert_eq!((again.status, again.body.as_str()), (202, SIGNUP_BODY));
    let mails = smtp.wait_for(email, 2, MAIL_WAIT).await;
    assert!(mails[1].links().is_empty(), "{}", mails[1].body);
    assert!(!mails[1].body.contains("http"), "{}", mails[1].body);
    assert_eq!(app.login(email, PASSWORD).await.status(), 200, "unchanged");

    // Signing up again while unverified replaces the password; earlier links die.
    let pending = "ming@example.com";
    app.signup(pending, PASSWORD).await;
    let first = nth_token(&smtp, pending, 1, "/verify-email").await;
    app.signup(pending, NEW_PASSWORD).await;
    let second = nth_token(&smtp, pending, 2, "/verify-email").await;
    post(
        &app,
        "/email/verify",
        json!({ "token": first, "password": PASSWORD }),
    )
    .await
    .assert_error(400, "invalid_link");
    post(
        &app,
        "/email/verify",
        json!({ "token": second, "password": PASSWORD }),
    )
    .await
    .assert_error(403, "invalid_credentials");
    // A resend gives a new link; the second dies.
    let resend = post(&app, "/email/resend", json!({ "email": pending })).await;
    let resend_unknown = post(&app, "/email/resend", json!({ "email": "x@example.com" })).await;
    assert_eq!((resend.status, &resend.body), (202, &resend_unknown.body));
    let third = nth_token(&smtp, pending, 3, "/verify-email").await;
    post(
        &app,
        "/email/verify",
        json!({ "token": second, "password": NEW_PASSWORD }),
    )
    .await
    .assert_error(400, "invalid_link");
    let ok = post(
        &app,
        "/email/verify",
        json!({ "token": third, "password": NEW_PASSWORD }),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Nothing for the unconfirmed address's magic-link request, nor for the unknown resend.
    outbox_drained(&app).await;
    assert!(smtp.mails_to("x@example.com").is_empty());
    assert!(
        smtp.mails_to(email)
            .iter()
            .all(|m| !m.body.contains("/magic-login"))
    );
}

/// Registered and unknown addresses under repeated requests inside `MAIL_RESEND_SECONDS`:
/// the same statuses and bytes; one mail to the registered address.
async fn repeated_requests_look_the_same(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[("MAIL_RESEND_SECONDS", "60")]).await;
    let email = "kim@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    for path in ["/password/forgot", "/login/email"] {
        let mut registered = Vec::new();
        let mut unknown = Vec::new();
        for _ in 0..5 {
            let a = post(&app, path, json!({ "email": email })).await;
            let b = post(&app, path, json!({ "email": "who@example.com" })).await;
            registered.push((a.status, a.body));
            unknown.push((b.status, b.body));
        }
        assert_eq!(registered, unknown, "{path}");
        assert!(registered.iter().all(|(s, _)| *s == 202), "{registered:?}");
    }
    // The work runs after the answers: wait for the two mails, then for the outbox to settle.
    smtp.wait_for(email, 2, MAIL_WAIT).await;
    outbox_drained(&app).await;
    let mails = smtp.mails_to(email);
    assert_eq!(mails.len(), 2, "one reset and one magic link");
    assert!(smtp.mails_to("who@example.com").is_empty());
}

/// The SMTP server is down when the request is made: the mail arrives once it is back.
async fn a_mail_survives_an_smtp_outage(backend: Backend) {
    let mut smtp = SmtpServer::reserve();
    let app = mail_app(backend, &smtp, &[]).await;
    let email = "out@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    let answer = post(&app, "/password/forgot", json!({ "email": email })).await;
    assert_eq!(answer.status, 202);
    // The worker has tried and failed: the mail is still queued.
    let pool = app.db.pool().await;
    let tried = within(MAIL_WAIT, || {
        let pool = pool.clone();
        async move {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT last_error FROM mail_outbox WHERE sent_at IS NULL AND last_error IS NOT NULL",
            )
            .fetch_optional(&pool)
            .await
            .unwrap();
            row.is_some()
        }
    })
    .await;
    assert!(
        tried.is_some(),
        "no failed try recorded while the server was down"
    );
    smtp.run().await;
    let back = Instant::now();
    smtp.wait_for(email, 1, Duration::from_secs(30)).await;
    assert!(back.elapsed() < Duration::from_secs(30));
    outbox_drained(&app).await;
    assert_eq!(smtp.mails_to(email).len(), 1, "exactly once");
}

/// Two instances drain the same outbox: each of N mails is delivered once.
async fn two_instances_deliver_each_mail_once(backend: Backend) {
    const N: usize = 12;
    let mut smtp = SmtpServer::reserve();
    let app = mail_app(backend, &smtp, &[]).await;
    let addresses: Vec<String> = (0..N).map(|i| format!("user{i}@example.com")).collect();
    for address in &addresses {
        assert_eq!(app.signup(address, PASSWORD).await.status(), 201);
        post(&app, "/password/forgot", json!({ "email": address })).await;
    }
    let pool = app.db.pool().await;
    let queued = within(MAIL_WAIT, || {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as("SELECT CAST(count(*) AS BIGINT) FROM mail_outbox")
                .fetch_one(&pool)
                .await
                .unwrap();
            n == N as i64
        }
    })
    .await;
    assert!(queued.is_some(), "the mails were not queued");
    let url = smtp.url();
    let second = app
        .spawn_sharing(|env| {
            for (k, v) in [
                ("SMTP_URL", url.as_str()),
                ("PUBLIC_URL", PUBLIC_URL),
                ("MAIL_POLL_SECONDS", "1"),
                ("MAIL_RETRY_MAX_SECONDS", "1"),
            ] {
                env.insert(k.to_owned(), v.to_owned());
            }
        })
        .await;
    smtp.run().await;
    outbox_drained(&app).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), N, "each mail once");
    for address in &addresses {
        assert_eq!(smtp.mails_to(address).len(), 1, "{address}");
    }
    drop(second);
}

/// A mail the server refuses for good is given up after `MAIL_MAX_ATTEMPTS`, recorded, and
/// holds nothing else up.
async fn a_poison_mail_is_given_up(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[("MAIL_MAX_ATTEMPTS", "2")]).await;
    assert_eq!(
        app.signup("poison@example.com", PASSWORD).await.status(),
        201
    );
    assert_eq!(app.signup("fine@example.com", PASSWORD).await.status(), 201);
    post(
        &app,
        "/password/forgot",
        json!({ "email": "poison@example.com" }),
    )
    .await;
    post(
        &app,
        "/password/forgot",
        json!({ "email": "fine@example.com" }),
    )
    .await;
    smtp.wait_for("fine@example.com", 1, MAIL_WAIT).await;
    outbox_drained(&app).await;
    let pool = app.db.pool().await;
    let (attempts, failed, error, body): (i64, Option<i64>, Option<String>, Option<String>) =
        sqlx::query_as(
            "SELECT CAST(attempts AS BIGINT), failed_at, last_error, body FROM mail_outbox
             WHERE recipient = 'poison@example.com'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 2);
    assert!(failed.is_some());
    assert!(error.unwrap_or_default().contains("550"));
    assert_eq!(body, None, "the link is erased from a given-up mail");
    // A sent mail keeps no body either, and links are stored as hashes only.
    let (bodies,): (i64,) =
        sqlx::query_as("SELECT CAST(count(*) AS BIGINT) FROM mail_outbox WHERE body IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(bodies, 0);
    let token = smtp.mails_to("fine@example.com")[0].token(PUBLIC_URL, "/reset-password");
    let (stored,): (i64,) =
        sqlx::query_as("SELECT CAST(count(*) AS BIGINT) FROM one_time_links WHERE token_hash = $1")
            .bind(token.as_str())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, 0, "the token itself is never stored");
}

/// Registered (verified, unverified, password-less) and unknown addresses get the same
/// `/password/forgot` answer; every registered one gets a link; a reset verifies the address.
async fn every_registered_address_can_reset_and_no_answer_differs(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[("EMAIL_VERIFICATION", "required")]).await;
    let (verified, unverified, openid) = ("v@example.com", "u@example.com", "o@example.com");
    app.signup(verified, PASSWORD).await;
    let token = nth_token(&smtp, verified, 1, "/verify-email").await;
    let ok = post(
        &app,
        "/email/verify",
        json!({ "token": token, "password": PASSWORD }),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    app.signup(unverified, PASSWORD).await;
    smtp.wait_for(unverified, 1, MAIL_WAIT).await;
    // A user created by an OpenID login has no password ('!').
    let pool = app.db.pool().await;
    let id = uuid::Uuid::new_v4();
    sqlx::query(&format!(
        "INSERT INTO users (id, email, password_hash) VALUES ('{id}', '{openid}', '!')"
    ))
    .execute(&pool)
    .await
    .unwrap();

    let reference = post(
        &app,
        "/password/forgot",
        json!({ "email": "none@example.com" }),
    )
    .await;
    assert_eq!(
        (reference.status, reference.body.as_str()),
        (202, FORGOT_BODY)
    );
    for address in [verified, unverified, openid] {
        let answer = post(&app, "/password/forgot", json!({ "email": address })).await;
        assert_eq!(
            (answer.status, &answer.body),
            (202, &reference.body),
            "{address}"
        );
    }
    let unverified_reset = nth_token(&smtp, unverified, 2, "/reset-password").await;
    nth_token(&smtp, verified, 2, "/reset-password").await;
    let openid_reset = nth_token(&smtp, openid, 1, "/reset-password").await;
    // The unverified address becomes verified by the reset; the OpenID user gets a password.
    assert_eq!(app.login(unverified, PASSWORD).await.status(), 403);
    for (address, token) in [(unverified, &unverified_reset), (openid, &openid_reset)] {
        let done = post(
            &app,
            "/password/reset",
            json!({ "token": token, "new_password": NEW_PASSWORD }),
        )
        .await;
        assert_eq!(done.status, 204, "{address}: {}", done.body);
        assert_eq!(
            app.login(address, NEW_PASSWORD).await.status(),
            200,
            "{address}"
        );
    }
    outbox_drained(&app).await;
    assert!(smtp.mails_to("none@example.com").is_empty());
}

/// `POST /login/email/verify?session=cookie`: the user and a session cookie; from another
/// site it is refused before the link is used up.
async fn a_magic_link_can_start_a_cookie_session(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = mail_app(backend, &smtp, &[]).await;
    let email = "cookie@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    post(&app, "/login/email", json!({ "email": email })).await;
    let token = nth_token(&smtp, email, 1, "/magic-login").await;
    let url = app.url("/login/email/verify?session=cookie");
    let cross = Captured::from(
        app.client
            .post(&url)
            .header("origin", "https://evil.example")
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    cross.assert_error(403, "cross_origin_request");
    let login = Captured::from(
        app.client
            .post(&url)
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json()["user"]["email"], email);
    assert!(login.json().get("token").is_none());
    let cookie = login.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.starts_with("passport_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

on_both_backends!(
    a_magic_link_can_start_a_cookie_session,
    every_registered_address_can_reset_and_no_answer_differs,
    forgot_and_reset,
    magic_link_login,
    verified_signup,
    repeated_requests_look_the_same,
    a_mail_survives_an_smtp_outage,
    two_instances_deliver_each_mail_once,
    a_poison_mail_is_given_up,
);

/// `/password/forgot` takes the same time for a registered and an unknown address (whether a
/// mail is queued does not show in the response time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_takes_the_same_time_for_registered_and_unknown_addresses() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Backend::Postgres, &smtp, &[]).await;
    let email = "time@example.com";
    assert_eq!(app.signup(email, PASSWORD).await.status(), 201);
    let timed = |address: String| {
        let app = &app;
        async move {
            let start = Instant::now();
            let answer = post(app, "/password/forgot", json!({ "email": address })).await;
            (answer, start.elapsed())
        }
    };
    for i in 0..3 {
        timed(format!("warm{i}@example.com")).await;
        timed(email.to_owned()).await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let ghost = format!("ghost{i}@example.com");
        let (a, b) = if i % 2 == 0 {
            let a = timed(email.to_owned()).await;
            (a, timed(ghost).await)
        } else {
            let b = timed(ghost).await;
            (timed(email.to_owned()).await, b)
        };
        assert_eq!((a.0.status, &a.0.body), (b.0.status, &b.0.body));
        known.push(a.1);
        unknown.push(b.1);
    }
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let difference = (known - unknown).abs() / known.max(unknown);
    eprintln!(
        "medians: registered {:.2} ms, unknown {:.2} ms",
        known * 1e3,
        unknown * 1e3
    );
    assert!(
        difference < 0.5,
        "registered {known} s vs unknown {unknown} s"
    );
    // Every registered request queued a mail (MAIL_RESEND_SECONDS=0), none of the unknown.
    smtp.wait_for(email, 33, MAIL_WAIT).await;
    outbox_drained(&app).await;
    assert!(
        smtp.mails()
            .iter()
            .all(|m| m.envelope_to == email || m.envelope_to.starts_with("warm"))
    );
}

/// Production refuses to start when a mail feature is on without `SMTP_URL`; without one
/// asked for, it starts with the mail routes off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_refuses_mail_features_without_smtp() {
    let refused = TestApp::try_spawn_with(Backend::Sqlite, |env| {
        env.insert("APP_ENV".into(), "production".into());
        env.insert("BCRYPT_COST".into(), "10".into());
        env.insert("EMAIL_VERIFICATION".into(), "required".into());
    })
    .await;
    let Err(error) = refused else {
        panic!("production started with EMAIL_VERIFICATION=required and no SMTP_URL");
    };
    assert!(error.contains("SMTP_URL"), "{error}");
    let quiet = TestApp::spawn_with(Backend::Sqlite, |env| {
        env.insert("APP_ENV".into(), "production".into());
        env.insert("BCRYPT_COST".into(), "10".into());
    })
    .await;
    post(&quiet, "/password/forgot", json!({ "email": "a@b.co" }))
        .await
        .assert_error(404, "not_found");
}

/// An address with a line break never reaches a mail header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_injection_through_the_address_sends_nothing() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(Backend::Sqlite, &smtp, &[]).await;
    assert_eq!(
        app.signup("victim@example.com", PASSWORD).await.status(),
        201
    );
    for evil in [
        "victim@example.com\r\nBcc: evil@example.com",
        "victim@example.com\nBcc: evil@example.com",
    ] {
        let answer = post(&app, "/password/forgot", json!({ "email": evil })).await;
        assert_eq!((answer.status, answer.body.as_str()), (202, FORGOT_BODY));
    }
    post(
        &app,
        "/password/forgot",
        json!({ "email": "victim@example.com" }),
    )
    .await;
    let mails: Vec<ReceivedMail> = smtp.wait_for("victim@example.com", 1, MAIL_WAIT).await;
    outbox_drained(&app).await;
    assert_eq!(smtp.mails().len(), mails.len());
    assert!(smtp.mails().iter().all(|m| !m.raw.contains("evil@")));
}
