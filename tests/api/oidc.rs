//! "Log in with an OpenID provider": `GET /auth/{provider}` and its callback, on both
//! backends, against a provider on a loopback port (discovery, JWKS, an authorization
//! endpoint that approves at once, a token endpoint that checks the client secret, the PKCE
//! verifier, the redirect URI and single use of each code).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
use passport_e2e::{Backend, Captured, TestApp, claims_of, on_both_backends};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

on_both_backends!(
    the_first_login_creates_a_user_and_the_second_finds_it,
    a_local_account_with_the_same_email_is_never_merged,
    an_unverified_email_creates_no_account,
    state_cookie_and_code_are_checked,
    id_tokens_for_another_client_or_expired_are_refused,
    callbacks_share_the_login_rate_limit,
    provider_errors_and_unknown_providers_are_json,
    the_provider_rotating_its_keys_between_logins_is_followed,
    a_provider_that_is_down_is_a_503,
);

const CLIENT_ID: &str = "passport";
const CLIENT_SECRET: &str = "passport-client-secret";
/// The callback as registered at the provider; the test follows it to the real server.
const REDIRECT: &str = "http://127.0.0.1:9/auth/op/callback";

struct Op {
    issuer: String,
    key: SigningKey,
    old_keys: Vec<SigningKey>,
    /// code -> (challenge, nonce, subject, used)
    codes: HashMap<String, (String, String, String, bool)>,
    /// The next login's subject and email claims.
    subject: String,
    email: Value,
    email_verified: Value,
    /// Overrides of the next ID token's claims.
    tweak: Option<Value>,
    next: u32,
}

type Shared = Arc<Mutex<Op>>;

async fn discovery(op: web::Data<Shared>) -> HttpResponse {
    let issuer = op.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(op: web::Data<Shared>) -> HttpResponse {
    let op = op.lock().unwrap();
    let keys = std::iter::once(&op.key)
        .chain(&op.old_keys)
        .map(|k| k.verifying_key().clone());
    HttpResponse::Ok().json(KeySet::new(keys).unwrap().to_jwks())
}

/// Approves at once and sends the browser back with a code.
async fn authorize(op: web::Data<Shared>, req: HttpRequest) -> HttpResponse {
    let q: HashMap<String, String> =
        web::Query::<HashMap<String, String>>::from_query(req.query_string())
            .unwrap()
            .into_inner();
    let ok = q.get("response_type").map(String::as_str) == Some("code")
        && q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && q.get("redirect_uri").map(String::as_str) == Some(REDIRECT)
        && q.get("code_challenge_method").map(String::as_str) == Some("S256")
        && q.get("scope")
            .is_some_and(|s| s.split(' ').any(|s| s == "openid"));
    if !ok {
        return HttpResponse::BadRequest().body("bad authorization request");
    }
    let mut op = op.lock().unwrap();
    op.next += 1;
    let code = format!("code-{}", op.next);
    let subject = op.subject.clone();
    op.codes.insert(
        code.clone(),
        (
            q["code_challenge"].clone(),
            q["nonce"].clone(),
            subject,
            false,
        ),
    );
    HttpResponse::Found()
        .insert_header((
            "location",
            format!("{REDIRECT}?code={code}&state={}", q["state"]),
        ))
        .finish()
}

async fn token(
    op: web::Data<Shared>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(&basic)
    {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let mut op = op.lock().unwrap();
    let code = form.get("code").cloned().unwrap_or_default();
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let Some((challenge, nonce, subject, used)) = op.codes.get_mut(&code) else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    };
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if *used
        || computed != *challenge
        || form.get("redirect_uri").map(String::as_str) != Some(REDIRECT)
    {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    }
    *used = true;
    let (nonce, subject) = (nonce.clone(), subject.clone());
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = json!({
        "iss": op.issuer, "sub": subject, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
        "nonce": nonce, "email": op.email, "email_verified": op.email_verified,
    });
    if let Some(Value::Object(tweak)) = op.tweak.take() {
        for (k, v) in tweak {
            claims[k] = v;
        }
    }
    let mut header = jsonwebtoken::Header::new(op.key.algorithm());
    header.kid = Some(op.key.kid().to_owned());
    let id_token = jsonwebtoken::encode(&header, &claims, op.key.encoding_key()).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
    }))
}

struct Provider {
    op: Shared,
    issuer: String,
    handle: actix_web::dev::ServerHandle,
}

async fn start_provider() -> Provider {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let op: Shared = Arc::new(Mutex::new(Op {
        issuer: issuer.clone(),
        key: SigningKey::generate(Algorithm::EdDSA).unwrap(),
        old_keys: Vec::new(),
        codes: HashMap::new(),
        subject: "subject-1".into(),
        email: json!("ada@example.com"),
        email_verified: json!(true),
        tweak: None,
        next: 0,
    }));
    let data = web::Data::new(op.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route(
                "/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/jwks", web::get().to(jwks))
            .route("/auth", web::get().to(authorize))
            .route("/token", web::post().to(token))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Provider { op, issuer, handle }
}

async fn app(backend: Backend, issuer: &str) -> TestApp {
    let issuer = issuer.to_owned();
    TestApp::spawn_with(backend, move |env| {
        for (k, v) in [
            ("OIDC_PROVIDERS", "op"),
            ("OIDC_OP_ISSUER", issuer.as_str()),
            ("OIDC_OP_CLIENT_ID", CLIENT_ID),
            ("OIDC_OP_CLIENT_SECRET", CLIENT_SECRET),
            ("OIDC_OP_REDIRECT_URL", REDIRECT),
            ("OIDC_OP_SCOPES", "openid email"),
            ("OIDC_JWKS_COOLDOWN_SECONDS", "0"),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
    })
    .await
}

/// The browser's side up to the callback: the server's redirect (with its cookie), the
/// provider's approval. Returns the callback path and the cookie.
async fn to_callback(app: &TestApp) -> (String, String) {
    let res = app.client.get(app.url("/auth/op")).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/auth/op/callback"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let res = app.client.get(&location).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap());
    let back = res.headers()["location"].to_str().unwrap();
    let path = back.strip_prefix("http://127.0.0.1:9").unwrap().to_owned();
    (path, cookie)
}

async fn callback(app: &TestApp, path: &str, cookie: Option<&str>) -> Captured {
    let mut req = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    Captured::from(req.send().await.unwrap()).await
}

async fn login(app: &TestApp) -> Captured {
    let (path, cookie) = to_callback(app).await;
    callback(app, &path, Some(&cookie)).await
}

async fn the_first_login_creates_a_user_and_the_second_finds_it(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;

    let first = login(&app).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let body = first.json();
    assert_eq!(body["token_type"], "Bearer");
    let token = body["token"].as_str().unwrap();
    let user_id = claims_of(token)["sub"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(token)["email"], "ada@example.com");
    assert_eq!(app.profile_status(token).await, 200);
    let refreshed = app.refresh(body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);

    let second = login(&app).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let token = second.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&token)["sub"], user_id.as_str());
    assert_ne!(
        claims_of(&token)["sid"],
        claims_of(body["token"].as_str().unwrap())["sid"]
    );

    // The account has no password: local login answers as for an unknown email.
    for password in ["", "!", "correct horse battery"] {
        let res = Captured::from(app.login("ada@example.com", password).await).await;
        assert!(
            res.status == 401 || res.status == 400,
            "{password:?}: {}",
            res.body
        );
        assert!(res.json().get("token").is_none());
    }
    // Signing up with that email is refused like any taken email.
    let res = Captured::from(app.signup("ada@example.com", "correct horse battery").await).await;
    assert_eq!(res.status, 409, "{}", res.body);
    provider.handle.stop(false).await;
}

async fn a_local_account_with_the_same_email_is_never_merged(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    let res = app.signup("ada@example.com", "correct horse battery").await;
    assert_eq!(res.status(), 201);
    login(&app).await.assert_error(409, "account_exists");
    // Another subject with another email is a new account.
    {
        let mut op = provider.op.lock().unwrap();
        op.subject = "subject-2".into();
        op.email = json!("grace@example.com");
    }
    assert_eq!(login(&app).await.status, 200);
    provider.handle.stop(false).await;
}

async fn an_unverified_email_creates_no_account(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    provider.op.lock().unwrap().email_verified = json!(false);
    login(&app).await.assert_error(403, "email_not_verified");
    provider.op.lock().unwrap().email = Value::Null;
    provider.op.lock().unwrap().email_verified = json!(true);
    login(&app).await.assert_error(403, "email_not_verified");
    // Nothing was written: signup with the email works.
    let res = app.signup("ada@example.com", "correct horse battery").await;
    assert_eq!(res.status(), 201);
    provider.handle.stop(false).await;
}

async fn state_cookie_and_code_are_checked(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    let (path, cookie) = to_callback(&app).await;

    callback(&app, &path, None)
        .await
        .assert_error(400, "missing_state_cookie");
    callback(&app, &path.replace("state=", "state=x"), Some(&cookie))
        .await
        .assert_error(400, "state_mismatch");
    let forged = format!("{cookie}A");
    callback(&app, &path, Some(&forged))
        .await
        .assert_error(400, "invalid_state_cookie");
    let (_, other_cookie) = to_callback(&app).await;
    callback(&app, &path, Some(&other_cookie))
        .await
        .assert_error(400, "state_mismatch");

    let ok = callback(&app, &path, Some(&cookie)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let removal = ok.header("set-cookie").unwrap_or_default();
    assert!(
        removal.contains("passport_oidc_op=") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    // The same code again (a replayed callback): the provider refuses it.
    callback(&app, &path, Some(&cookie))
        .await
        .assert_error(401, "code_rejected");
    provider.handle.stop(false).await;
}

async fn provider_errors_and_unknown_providers_are_json(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    let (path, cookie) = to_callback(&app).await;
    // A forged `?error=` (another site's link, not this flow's state) is refused as a state
    // mismatch and leaves the browser's flow cookie alone.
    let forged = callback(
        &app,
        "/auth/op/callback?error=access_denied&state=x",
        Some(&cookie),
    )
    .await;
    forged.assert_error(400, "state_mismatch");
    assert!(
        forged.header("set-cookie").is_none(),
        "the flow cookie is kept: {:?}",
        forged.headers
    );
    let state = path
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .unwrap();
    let res = callback(
        &app,
        &format!("/auth/op/callback?error=access_denied&state={state}"),
        Some(&cookie),
    )
    .await;
    res.assert_error(401, "provider_error");
    assert!(res.body.contains("access_denied"));
    let res = Captured::from(app.client.get(app.url("/auth/nope")).send().await.unwrap()).await;
    res.assert_error(404, "unknown_provider");
    let res = Captured::from(
        app.client
            .get(app.url("/auth/nope/callback?code=a&state=b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    res.assert_error(404, "unknown_provider");
    provider.handle.stop(false).await;
}

async fn the_provider_rotating_its_keys_between_logins_is_followed(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    let first = login(&app).await;
    assert_eq!(first.status, 200, "{}", first.body);
    {
        let mut op = provider.op.lock().unwrap();
        let old = std::mem::replace(&mut op.key, SigningKey::generate(Algorithm::ES256).unwrap());
        op.old_keys.push(old);
    }
    let second = login(&app).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let sub = |c: &Captured| claims_of(c.json()["token"].as_str().unwrap())["sub"].clone();
    assert_eq!(sub(&first), sub(&second));
    provider.handle.stop(false).await;
}

async fn a_provider_that_is_down_is_a_503(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    // Down after the redirect: the code exchange cannot happen.
    let (path, cookie) = to_callback(&app).await;
    provider.handle.stop(false).await;
    callback(&app, &path, Some(&cookie))
        .await
        .assert_error(503, "service_unavailable");

    // Down from the start: the first leg cannot discover it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = self::app(backend, &format!("http://127.0.0.1:{port}")).await;
    let res = Captured::from(app.client.get(app.url("/auth/op")).send().await.unwrap()).await;
    res.assert_error(503, "service_unavailable");
}

// ---------------------------------------------------------------------------------------------
// Against panva's oidc-provider (npm, OpenID Certified), driven like a browser: a cookie jar,
// following redirects, posting its login and consent forms.
// ---------------------------------------------------------------------------------------------

mod certified {
    use passport_e2e::oidc_provider::{
        CLIENT_ID, CLIENT_SECRET, OidcProvider, form_action, free_port, hidden_inputs,
    };
    use passport_e2e::{Backend, Captured, TestApp, claims_of, on_both_backends};

    on_both_backends!(
        logins_create_then_find_the_user_with_a_working_token_pair,
        tampered_state_missing_cookie_and_replayed_code_are_refused,
        a_login_refused_at_the_provider_is_a_provider_error,
        a_key_rotation_between_logins_is_followed,
        the_provider_down_is_a_503,
    );

    /// A server on a port chosen in advance (the provider must know its callback) and the
    /// provider; `None` when the provider is not installed (outside CI only). Another test
    /// may bind the chosen port before the server does: then a fresh one is tried (three at
    /// most).
    async fn setup(backend: Backend) -> Option<(TestApp, OidcProvider)> {
        let mut tried = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let redirect = format!("http://127.0.0.1:{port}/auth/op/callback");
            let provider = OidcProvider::start(&redirect)?;
            let issuer = provider.issuer();
            let app = TestApp::try_spawn_with(backend, move |env| {
                for (k, v) in [
                    ("BIND_ADDR", format!("127.0.0.1:{port}")),
                    ("OIDC_PROVIDERS", "op".into()),
                    ("OIDC_OP_ISSUER", issuer),
                    ("OIDC_OP_CLIENT_ID", CLIENT_ID.into()),
                    ("OIDC_OP_CLIENT_SECRET", CLIENT_SECRET.into()),
                    ("OIDC_OP_REDIRECT_URL", redirect),
                    ("OIDC_JWKS_COOLDOWN_SECONDS", "0".into()),
                ] {
                    env.insert(k.to_owned(), v);
                }
            })
            .await;
            match app {
                Ok(app) => return Some((app, provider)),
                Err(why) if why.contains("cannot listen on BIND_ADDR") => tried.push(why),
                Err(why) => panic!("{why}"),
            }
        }
        panic!("no reserved port stayed free: {}", tried.join("; "))
    }

    fn browser() -> reqwest::Client {
        browser_with(std::sync::Arc::new(reqwest::cookie::Jar::default()))
    }

    fn browser_with(jar: std::sync::Arc<reqwest::cookie::Jar>) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_provider(jar)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.url().path().ends_with("/callback") {
                    attempt.stop()
                } else if attempt.previous().len() > 10 {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .unwrap()
    }

    /// Starts the login at the server and goes through the provider's forms as `login`,
    /// up to the redirect back to the server's callback, which is returned (not followed).
    async fn through_the_provider(app: &TestApp, browser: &reqwest::Client, login: &str) -> String {
        let mut res = browser.get(app.url("/auth/op")).send().await.unwrap();
        for _ in 0..4 {
            if res.status().is_redirection() {
                return res.headers()["location"].to_str().unwrap().to_owned();
            }
            let url = res.url().clone();
            let html = res.text().await.unwrap();
            let action = form_action(&html).unwrap_or_else(|| panic!("no form in {html}"));
            let mut fields = hidden_inputs(&html);
            if html.contains("name=\"login\"") {
                fields.push(("login".into(), login.into()));
                fields.push(("password".into(), "anything".into()));
            }
            res = browser
                .post(url.join(&action).unwrap())
                .form(&fields)
                .send()
                .await
                .unwrap();
        }
        panic!("the provider never sent the browser back");
    }

    async fn login(app: &TestApp, login: &str) -> Captured {
        let browser = browser();
        let callback = through_the_provider(app, &browser, login).await;
        Captured::from(browser.get(callback).send().await.unwrap()).await
    }

    async fn logins_create_then_find_the_user_with_a_working_token_pair(backend: Backend) {
        let Some((app, _provider)) = setup(backend).await else {
            return;
        };
        let first = login(&app, "ada").await;
        assert_eq!(first.status, 200, "{}", first.body);
        let body = first.json();
        let token = body["token"].as_str().unwrap();
        assert_eq!(claims_of(token)["email"], "ada@example.com");
        assert_eq!(app.profile_status(token).await, 200);
        let refreshed = app.refresh(body["refresh_token"].as_str().unwrap()).await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.body);

        let second = login(&app, "ada").await;
        assert_eq!(second.status, 200, "{}", second.body);
        let again = second.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(claims_of(&again)["sub"], claims_of(token)["sub"]);

        let other = login(&app, "grace").await;
        assert_eq!(other.status, 200, "{}", other.body);
        let other = other.json()["token"].as_str().unwrap().to_owned();
        assert_ne!(claims_of(&other)["sub"], claims_of(token)["sub"]);
    }

    async fn tampered_state_missing_cookie_and_replayed_code_are_refused(backend: Backend) {
        let Some((app, _provider)) = setup(backend).await else {
            return;
        };
        let browser = browser();
        let callback = through_the_provider(&app, &browser, "ada").await;
        // Another browser (no flow cookie) presenting this callback.
        let res = Captured::from(app.client.get(&callback).send().await.unwrap()).await;
        res.assert_error(400, "missing_state_cookie");
        let tampered = callback.replace("state=", "state=x");
        let res = Captured::from(browser.get(&tampered).send().await.unwrap()).await;
        res.assert_error(400, "state_mismatch");
        let res = Captured::from(browser.get(&callback).send().await.unwrap()).await;
        assert_eq!(res.status, 200, "{}", res.body);
        // The callback again: the cookie was deleted; with it put back, the code is used up.
        let res = Captured::from(browser.get(&callback).send().await.unwrap()).await;
        res.assert_error(400, "missing_state_cookie");

        // A copy of the flow cookie taken before the callback, replayed with the used code.
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let browser = browser_with(jar.clone());
        let callback = through_the_provider(&app, &browser, "ada").await;
        let url: reqwest::Url = callback.parse().unwrap();
        let cookies = reqwest::cookie::CookieStore::cookies(&*jar, &url).unwrap();
        let res = Captured::from(browser.get(&callback).send().await.unwrap()).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let replay = app
            .client
            .get(&callback)
            .header("cookie", cookies)
            .send()
            .await
            .unwrap();
        Captured::from(replay)
            .await
            .assert_error(401, "code_rejected");
    }

    async fn a_login_refused_at_the_provider_is_a_provider_error(backend: Backend) {
        let Some((app, _provider)) = setup(backend).await else {
            return;
        };
        let browser = browser();
        let res = browser.get(app.url("/auth/op")).send().await.unwrap();
        // The development login page's "Cancel" link aborts the interaction.
        let url = res.url().clone();
        let html = res.text().await.unwrap();
        let action = form_action(&html).unwrap();
        let abort = url.join(&format!("{action}/abort")).unwrap();
        assert!(
            html.contains(abort.path()),
            "the page links to {abort}: {html}"
        );
        let res = browser.get(abort).send().await.unwrap();
        assert!(res.status().is_redirection(), "{}", res.status());
        let callback = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(callback.contains("error=access_denied"), "{callback}");
        let res = Captured::from(browser.get(&callback).send().await.unwrap()).await;
        res.assert_error(401, "provider_error");
    }

    async fn a_key_rotation_between_logins_is_followed(backend: Backend) {
        let Some((app, provider)) = setup(backend).await else {
            return;
        };
        let first = login(&app, "ada").await;
        assert_eq!(first.status, 200, "{}", first.body);
        let _provider = provider.restart_with_a_new_key();
        let second = login(&app, "ada").await;
        assert_eq!(second.status, 200, "{}", second.body);
        let sub = |c: &Captured| claims_of(c.json()["token"].as_str().unwrap())["sub"].clone();
        assert_eq!(sub(&first), sub(&second));
    }

    async fn the_provider_down_is_a_503(backend: Backend) {
        let Some((app, mut provider)) = setup(backend).await else {
            return;
        };
        let browser = browser();
        let callback = through_the_provider(&app, &browser, "ada").await;
        provider.stop();
        let res = Captured::from(browser.get(&callback).send().await.unwrap()).await;
        res.assert_error(503, "service_unavailable");
    }
}

async fn id_tokens_for_another_client_or_expired_are_refused(backend: Backend) {
    let provider = start_provider().await;
    let app = app(backend, &provider.issuer).await;
    let now = jsonwebtoken::get_current_timestamp();
    for tweak in [
        json!({"aud": "another-client"}),
        json!({"aud": [CLIENT_ID, "another-client"], "azp": "another-client"}),
        json!({"exp": now - 3600, "iat": now - 3900}),
        json!({"nonce": "another-flow"}),
        json!({"iss": "http://127.0.0.1:1"}),
    ] {
        let (path, cookie) = to_callback(&app).await;
        provider.op.lock().unwrap().tweak = Some(tweak.clone());
        let res = callback(&app, &path, Some(&cookie)).await;
        assert_eq!(res.status, 401, "{tweak}: {}", res.body);
        res.assert_error(401, "invalid_id_token");
    }
    // Nothing was created: the first good login is a first login.
    let res = login(&app).await;
    assert_eq!(res.status, 200, "{}", res.body);
    provider.handle.stop(false).await;
}

async fn callbacks_share_the_login_rate_limit(backend: Backend) {
    let provider = start_provider().await;
    let issuer = provider.issuer.clone();
    let app = TestApp::spawn_with(backend, move |env| {
        for (k, v) in [
            ("RATE_LIMIT_PER_MINUTE", "3"),
            ("OIDC_PROVIDERS", "op"),
            ("OIDC_OP_ISSUER", issuer.as_str()),
            ("OIDC_OP_CLIENT_ID", CLIENT_ID),
            ("OIDC_OP_REDIRECT_URL", REDIRECT),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
    })
    .await;
    // Two logins, then callbacks: the third request to either is refused.
    for _ in 0..2 {
        let res = app.login("nobody@example.com", "wrong password").await;
        assert_eq!(res.status(), 401);
    }
    callback(&app, "/auth/op/callback?code=c&state=s", None)
        .await
        .assert_error(400, "missing_state_cookie");
    callback(&app, "/auth/op/callback?code=c&state=s", None)
        .await
        .assert_error(429, "rate_limited");
    // The first leg (no outbound call per request after discovery, no login) is not limited.
    let res = app.client.get(app.url("/auth/op")).send().await.unwrap();
    assert_eq!(res.status(), 302);
    provider.handle.stop(false).await;
}
