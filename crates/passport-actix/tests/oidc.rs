//! The OpenID Connect strategy against an in-process provider on a loopback port: discovery,
//! JWKS, an authorization endpoint that issues codes, and a token endpoint that checks the
//! client, the PKCE verifier and single use of each code.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, test, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
use passport_actix::{Authenticated, Outcome, Passport};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "app";
const CLIENT_SECRET: &str = "app-secret";
const REDIRECT: &str = "http://127.0.0.1:9/auth/op/callback";

/// What the fake provider remembers.
struct Op {
    issuer: String,
    key: SigningKey,
    /// Keys published besides the current one.
    old_keys: Vec<SigningKey>,
    /// code -> (challenge, nonce, used)
    codes: HashMap<String, (String, String, bool)>,
    /// Overrides of the next ID token's claims.
    tweak: Option<Value>,
    /// A key that signs the next ID token without being published.
    rogue: Option<SigningKey>,
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
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn jwks(op: web::Data<Shared>) -> HttpResponse {
    let op = op.lock().unwrap();
    let keys = KeySet::new(
        std::iter::once(&op.key)
            .chain(&op.old_keys)
            .map(|k| k.verifying_key().clone()),
    )
    .unwrap();
    HttpResponse::Ok().json(keys.to_jwks())
}

async fn token(
    op: web::Data<Shared>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let mut op = op.lock().unwrap();
    let code = form.get("code").cloned().unwrap_or_default();
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let Some((challenge, nonce, used)) = op.codes.get_mut(&code) else {
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
    let nonce = nonce.clone();
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = json!({
        "iss": op.issuer, "sub": "user-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
        "nonce": nonce, "email": "ada@example.com", "email_verified": true, "name": "Ada",
    });
    if let Some(Value::Object(tweak)) = op.tweak.take() {
        for (k, v) in tweak {
            claims[k] = v;
        }
    }
    let key = op.rogue.take().unwrap_or_else(|| op.key.clone());
    let mut header = jsonwebtoken::Header::new(key.algorithm());
    header.kid = Some(key.kid().to_owned());
    let id_token = jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap();
    HttpResponse::Ok().json(json!({
        "access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token,
    }))
}

/// Starts the provider; returns its state and issuer.
async fn start_op() -> (Shared, String, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let op: Shared = Arc::new(Mutex::new(Op {
        issuer: issuer.clone(),
        key: SigningKey::generate(Algorithm::EdDSA).unwrap(),
        old_keys: Vec::new(),
        codes: HashMap::new(),
        tweak: None,
        rogue: None,
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
            .route("/token", web::post().to(token))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    (op, issuer, handle)
}

/// The provider's authorization endpoint, without a browser: checks the request and
/// answers the callback URL.
fn authorize(op: &Shared, location: &str) -> String {
    let url = reqwest::Url::parse(location).unwrap();
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(
        q["scope"].split(' ').any(|s| s == "openid"),
        "{}",
        q["scope"]
    );
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16);
    let mut op = op.lock().unwrap();
    op.next += 1;
    let code = format!("code-{}", op.next);
    op.codes.insert(
        code.clone(),
        (q["code_challenge"].clone(), q["nonce"].clone(), false),
    );
    format!("/auth/op/callback?code={code}&state={}", q["state"])
}

fn config(issuer: &str) -> OidcConfig {
    OidcConfig::new(issuer, CLIENT_ID, REDIRECT, &[42; 32])
        .unwrap()
        .client_secret(SecretString::from(CLIENT_SECRET))
        .jwks_cooldown(Duration::ZERO)
        .timeout(Duration::from_secs(2))
}

macro_rules! app {
    ($issuer:expr) => {{
        let mut passport = Passport::<String>::new();
        passport.register(
            "op",
            OidcStrategy::new(config($issuer), |claims: OidcClaims| async move {
                Outcome::success(format!(
                    "{}|{}|{}",
                    claims.subject,
                    claims.email.unwrap_or_default(),
                    claims.email_verified.unwrap_or(false)
                ))
            }),
        );
        let guard = passport.authenticate("op").unwrap();
        test::init_service(
            App::new().service(
                web::scope("/auth/op").wrap(guard).default_service(web::to(
                    |user: Authenticated<String>| async move {
                        HttpResponse::Ok().body(user.into_inner())
                    },
                )),
            ),
        )
        .await
    }};
}

/// The first leg: the redirect's location and the flow cookie (`name=value`).
macro_rules! begin {
    ($app:expr) => {{
        let res =
            test::call_service(&$app, test::TestRequest::get().uri("/auth/op").to_request()).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let location = res
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/auth/op/callback",
            "Max-Age=600",
        ] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        (location, cookie)
    }};
}

async fn body_of(res: actix_web::dev::ServiceResponse) -> (StatusCode, String) {
    let status = res.status();
    (
        status,
        String::from_utf8(test::read_body(res).await.to_vec()).unwrap(),
    )
}

macro_rules! callback {
    ($app:expr, $uri:expr, $cookie:expr) => {{
        let mut req = test::TestRequest::get().uri(&$uri);
        if let Some(cookie) = $cookie {
            req = req.insert_header(("cookie", cookie));
        }
        body_of(test::call_service(&$app, req.to_request()).await).await
    }};
}

fn code_of(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[actix_rt::test]
async fn a_login_succeeds_and_the_code_cannot_be_replayed() {
    let (op, issuer, _server) = start_op().await;
    let app = app!(&issuer);
    let (location, cookie) = begin!(app);
    assert!(
        location.starts_with(&format!("{issuer}/auth?")),
        "{location}"
    );
    let callback = authorize(&op, &location);
    let (status, body) = callback!(app, callback, Some(cookie.clone()));
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "user-1|ada@example.com|true")
    );
    let (status, body) = callback!(app, callback, Some(cookie));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "code_rejected")
    );
}

#[actix_rt::test]
async fn state_and_cookie_are_checked() {
    let (op, issuer, _server) = start_op().await;
    let app = app!(&issuer);
    let (location, cookie) = begin!(app);
    let callback = authorize(&op, &location);

    let (status, body) = callback!(app, callback, None::<String>);
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "missing_state_cookie")
    );

    let tampered = callback.replace("state=", "state=x");
    let (status, body) = callback!(app, tampered, Some(cookie.clone()));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "state_mismatch")
    );

    let no_state = callback.split("&state=").next().unwrap().to_owned();
    let (status, body) = callback!(app, no_state, Some(cookie.clone()));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "state_mismatch")
    );

    let forged = format!("{}x", cookie);
    let (status, body) = callback!(app, callback, Some(forged));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "invalid_state_cookie")
    );

    // Another browser's flow: its own cookie, this browser's state.
    let (_, other_cookie) = begin!(app);
    let (status, body) = callback!(app, callback, Some(other_cookie));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "state_mismatch")
    );

    // The genuine pair still works (nothing above used the code).
    let (status, _) = callback!(app, callback, Some(cookie));
    assert_eq!(status, StatusCode::OK);
}

#[actix_rt::test]
async fn a_provider_error_is_a_401_with_its_code() {
    let (_op, issuer, _server) = start_op().await;
    let app = app!(&issuer);
    let (location, cookie) = begin!(app);
    let state = location
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .unwrap()
        .to_owned();
    // Another site's link with `?error=` but not this flow's state: refused as a state
    // mismatch (the server then keeps this browser's flow cookie), never acted upon.
    let forged = "/auth/op/callback?error=access_denied&state=s";
    let (status, body) = callback!(app, forged, Some(cookie.clone()));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "state_mismatch")
    );
    let uri = format!(
        "/auth/op/callback?error=access_denied&error_description=%3Cscript%3E&state={state}"
    );
    let (status, body) = callback!(app, uri, Some(cookie));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "provider_error")
    );
    assert!(
        body.contains("access_denied") && !body.contains("script"),
        "{body}"
    );
}

#[actix_rt::test]
async fn bad_id_tokens_are_refused() {
    let (op, issuer, _server) = start_op().await;
    let app = app!(&issuer);
    let now = jsonwebtoken::get_current_timestamp();
    for tweak in [
        json!({"aud": "another-client"}),
        json!({"aud": ["app", "another-client"]}),
        json!({"aud": ["app", "another-client"], "azp": "another-client"}),
        json!({"nonce": "not-this-flows"}),
        json!({"nonce": null}),
        json!({"iss": "http://127.0.0.1:1"}),
        json!({"exp": now - 3600, "iat": now - 3900}),
        json!({"iat": now + 3600, "exp": now + 3900}),
    ] {
        let (location, cookie) = begin!(app);
        let callback = authorize(&op, &location);
        op.lock().unwrap().tweak = Some(tweak.clone());
        let (status, body) = callback!(app, callback, Some(cookie));
        assert_eq!(
            (status, code_of(&body).as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_id_token"),
            "{tweak}"
        );
    }
    // Several audiences with azp naming this client are fine.
    let (location, cookie) = begin!(app);
    let callback = authorize(&op, &location);
    op.lock().unwrap().tweak = Some(json!({"aud": ["app", "another-client"], "azp": "app"}));
    let (status, _) = callback!(app, callback, Some(cookie));
    assert_eq!(status, StatusCode::OK);
}

#[actix_rt::test]
async fn a_token_signed_by_an_unpublished_key_is_refused_and_a_rotated_key_is_fetched() {
    let (op, issuer, _server) = start_op().await;
    let app = app!(&issuer);
    let (location, cookie) = begin!(app);
    let callback = authorize(&op, &location);
    assert_eq!(callback!(app, callback, Some(cookie)).0, StatusCode::OK);

    // A key the provider does not publish.
    let (location, cookie) = begin!(app);
    let callback = authorize(&op, &location);
    op.lock().unwrap().rogue = Some(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let (status, body) = callback!(app, callback, Some(cookie));
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_id_token")
    );

    // The provider rotates: the new key is published and signs; the next login fetches it.
    {
        let mut op = op.lock().unwrap();
        let old = std::mem::replace(&mut op.key, SigningKey::generate(Algorithm::ES256).unwrap());
        op.old_keys.push(old);
    }
    let (location, cookie) = begin!(app);
    let callback = authorize(&op, &location);
    assert_eq!(callback!(app, callback, Some(cookie)).0, StatusCode::OK);
}

#[actix_rt::test]
async fn an_unreachable_provider_is_a_503() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = app!(&format!("http://127.0.0.1:{port}"));
    let res = test::call_service(&app, test::TestRequest::get().uri("/auth/op").to_request()).await;
    let (status, body) = body_of(res).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
}

#[actix_rt::test]
async fn the_provider_going_down_after_discovery_is_a_503() {
    let (op, issuer, server) = start_op().await;
    let app = app!(&issuer);
    let (location, cookie) = begin!(app);
    let callback = authorize(&op, &location);
    server.stop(false).await;
    let (status, body) = callback!(app, callback, Some(cookie));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}
