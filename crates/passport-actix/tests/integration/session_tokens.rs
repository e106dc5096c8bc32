//! Sessions turnkey, on the in-memory store: `SessionTokens` issues the pair, the
//! session-aware JWT strategy (`Liveness::jwt_strategy`, no verify callback) guards a route,
//! and the ready refresh and logout routes answer as the HTTP contract says.

use std::sync::Arc;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use actix_web::{App, HttpResponse, test, web};
use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig};
use passport_actix::session::{Liveness, SessionClaims, SessionTokens, Sessions};
use passport_actix::store::{MemoryStore, User};
use passport_actix::{Authenticated, Passport};
use serde_json::{Value, json};

const SECRET: &[u8] = b"a test-only secret of at least 32 bytes";

struct Setup {
    config: JwtConfig,
    tokens: SessionTokens<Liveness<MemoryStore>>,
    liveness: Liveness<MemoryStore>,
    ada: User,
}

/// A store with one user, and sessions over its liveness check. `trusted`: the cache is
/// trusted (one process), as in the sessions example; else every check reads the store.
fn setup(trusted: bool) -> Setup {
    let store = MemoryStore::new();
    let ada = store.add_user("ada@example.com").unwrap();
    let liveness = Liveness::new(Arc::new(store));
    if trusted {
        liveness.cache().trust_always();
    }
    let config = JwtConfig::hmac(SECRET, "notes", "notes").unwrap();
    let sessions = Sessions::new(Arc::new(liveness.clone()));
    let tokens = SessionTokens::new(sessions, config.issuer());
    Setup {
        config,
        tokens,
        liveness,
        ada,
    }
}

/// `GET /me` behind the session-aware strategy (answers the user's email and session id),
/// `POST /token/refresh` and `POST /logout` (guarded) from `SessionTokens`.
macro_rules! app {
    ($s:expr) => {{
        let s: &Setup = &$s;
        let mut passport = Passport::<User>::new();
        let bearer = ExtractJwt::from_auth_header_as_bearer_token();
        passport.register("jwt", s.liveness.jwt_strategy(s.config.verifier(), bearer));
        let guard = passport.authenticate("jwt").unwrap();
        test::init_service(
            App::new()
                .service(web::resource("/me").wrap(guard.clone()).get(
                    |user: Authenticated<User>| async move {
                        HttpResponse::Ok().json(json!({
                            "email": user.email,
                            "sid": user.session_id.map(|id| id.to_string()),
                            "info_sid": user.info().session_id(),
                        }))
                    },
                ))
                .route("/token/refresh", s.tokens.refresh_route())
                .service(
                    web::resource("/logout")
                        .wrap(guard)
                        .route(s.tokens.logout_route()),
                ),
        )
        .await
    }};
}

fn me(token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri("/me")
        .insert_header(("authorization", format!("Bearer {token}")))
}

/// The status, the `WWW-Authenticate` challenge and the JSON body of `req`.
async fn call<S, R>(app: &S, req: R) -> (StatusCode, Option<String>, Value)
where
    S: Service<R, Response = ServiceResponse, Error = actix_web::Error>,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = test::read_body(res).await;
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, challenge, body)
}

#[actix_rt::test]
async fn a_revoked_sessions_access_token_is_refused_by_the_session_aware_strategy() {
    for trusted in [true, false] {
        let s = setup(trusted);
        let app = app!(s);
        let login = s.tokens.start(&s.ada.id.to_string()).await.unwrap();

        let (status, _, body) = call(&app, me(&login.access.token).to_request()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["email"], "ada@example.com");
        assert_eq!(
            body["sid"],
            login.session.session_id.as_str(),
            "the user is in its session"
        );
        assert_eq!(body["info_sid"], login.session.session_id.as_str());

        assert!(s.tokens.revoke(&login.session.session_id).await.unwrap());
        let (status, challenge, body) = call(&app, me(&login.access.token).to_request()).await;
        assert_eq!(status, 401, "trusted cache {trusted}: {body}");
        assert_eq!(body["error"], "token_subject_unknown");
        assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
    }
}

#[actix_rt::test]
async fn a_token_without_a_session_id_is_refused() {
    let s = setup(true);
    let app = app!(s);
    // Signed with the right key, for a real user, but naming no session.
    let token = s
        .config
        .issuer()
        .issue(s.ada.id.to_string(), ())
        .unwrap()
        .token;
    let (status, challenge, body) = call(&app, me(&token).to_request()).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "token_claim_missing");
    assert!(challenge.unwrap().contains("sid"));
}

#[actix_rt::test]
async fn a_token_naming_another_users_session_is_refused() {
    let s = setup(true);
    let app = app!(s);
    let login = s.tokens.start(&s.ada.id.to_string()).await.unwrap();
    let claims = SessionClaims {
        sid: Some(login.session.session_id.clone()),
        amr: vec![],
    };
    let token = s
        .config
        .issuer()
        .issue(uuid::Uuid::new_v4().to_string(), claims)
        .unwrap()
        .token;
    let (status, _, body) = call(&app, me(&token).to_request()).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (401, Some("token_subject_unknown"))
    );
}

#[actix_rt::test]
async fn the_refresh_route_answers_a_new_pair_or_the_contracts_400s() {
    let s = setup(true);
    let app = app!(s);
    let login = s.tokens.start(&s.ada.id.to_string()).await.unwrap();
    let refresh = |body: Value| {
        test::TestRequest::post()
            .uri("/token/refresh")
            .set_json(body)
            .to_request()
    };

    let (status, _, body) = call(&app, refresh(json!({}))).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = call(&app, refresh(json!({"refresh_token": ""}))).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = call(&app, refresh(json!({"refresh_token": "forged"}))).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // A form body works as well as JSON.
    let form = test::TestRequest::post()
        .uri("/token/refresh")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(format!(
            "refresh_token={}",
            login.session.refresh_token.as_str()
        ))
        .to_request();
    let res = test::call_service(&app, form).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "no-store");
    let pair: Value = test::read_body_json(res).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 3600);
    let token = pair["token"].as_str().unwrap();
    assert_ne!(token, login.access.token);
    let claims: Claims<SessionClaims> = s.config.verifier().verify(token).unwrap();
    assert_eq!(
        claims.custom.sid.as_deref(),
        Some(login.session.session_id.as_str())
    );
    let (status, _, _) = call(&app, me(token).to_request()).await;
    assert_eq!(
        status, 200,
        "the refreshed access token opens the guarded route"
    );

    // After logout, the session's refresh tokens are refused.
    s.tokens.revoke(&login.session.session_id).await.unwrap();
    let next = pair["refresh_token"].as_str().unwrap();
    let (status, _, body) = call(&app, refresh(json!({"refresh_token": next}))).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[actix_rt::test]
async fn logout_revokes_the_guarded_session_and_its_access_tokens_at_once() {
    let s = setup(true);
    let app = app!(s);
    let phone = s.tokens.start(&s.ada.id.to_string()).await.unwrap();
    let laptop = s.tokens.start(&s.ada.id.to_string()).await.unwrap();
    let (refreshed, _) = s
        .tokens
        .refresh(phone.session.refresh_token.as_str())
        .await
        .unwrap();
    for token in [&phone.access.token, &refreshed.access.token] {
        assert_eq!(
            call(&app, me(token).to_request()).await.0,
            200,
            "warm in the trusted cache"
        );
    }

    let logout = |token: &str| {
        test::TestRequest::post()
            .uri("/logout")
            .insert_header(("authorization", format!("Bearer {token}")))
            .to_request()
    };
    let res = test::call_service(&app, logout(&refreshed.access.token)).await;
    assert_eq!(res.status(), 204);
    for token in [&phone.access.token, &refreshed.access.token] {
        assert_eq!(
            call(&app, me(token).to_request()).await.0,
            401,
            "both tokens of the session"
        );
    }
    let (status, _, _) = call(&app, logout(&phone.access.token)).await;
    assert_eq!(status, 401);
    assert_eq!(
        call(&app, me(&laptop.access.token).to_request()).await.0,
        200,
        "another session of the user lives on"
    );
}

#[actix_rt::test]
async fn logout_scopes_end_this_every_other_or_every_session_of_the_user() {
    let s = setup(true);
    let app = app!(s);
    let bob = s.liveness.loader().add_user("bob@example.com").unwrap();
    let start = async |user: &User| s.tokens.start(&user.id.to_string()).await;
    let (a1, a2, a3) = (
        start(&s.ada).await.unwrap(),
        start(&s.ada).await.unwrap(),
        start(&s.ada).await.unwrap(),
    );
    let bobs = start(&bob).await.unwrap();
    let logout = |token: &str, query: &str| {
        test::TestRequest::post()
            .uri(&format!("/logout{query}"))
            .insert_header(("authorization", format!("Bearer {token}")))
            .to_request()
    };
    let alive = async |token: &str| call(&app, me(token).to_request()).await.0 == 200;

    for odd in ["?scope=all", "?scope=", "?scope=local&scope=global"] {
        let (status, _, body) = call(&app, logout(&a1.access.token, odd)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{odd}"
        );
    }
    assert!(
        alive(&a1.access.token).await,
        "a refused scope ends nothing"
    );

    let (status, _, _) = call(&app, logout(&a1.access.token, "?scope=others")).await;
    assert_eq!(status, 204);
    assert!(
        alive(&a1.access.token).await,
        "others: this session lives on"
    );
    assert!(!alive(&a2.access.token).await && !alive(&a3.access.token).await);
    assert!(
        alive(&bobs.access.token).await,
        "another user's session is not touched"
    );

    let a4 = start(&s.ada).await.unwrap();
    let (status, _, _) = call(&app, logout(&a4.access.token, "?scope=global")).await;
    assert_eq!(status, 204);
    assert!(!alive(&a1.access.token).await && !alive(&a4.access.token).await);
    assert!(alive(&bobs.access.token).await);

    let (status, _, _) = call(&app, logout(&bobs.access.token, "?scope=local")).await;
    assert_eq!(status, 204);
    assert!(!alive(&bobs.access.token).await);
}

#[actix_rt::test]
async fn two_pairs_issued_in_the_same_second_have_distinct_token_ids() {
    let s = setup(true);
    let user_id = s.ada.id.to_string();
    let verifier = s.config.verifier();
    // Issue pairs until two fall within one second (almost always the first two), so the
    // test holds on a slow machine without depending on timing.
    let (a, b) = loop {
        let login = s.tokens.start(&user_id).await.unwrap();
        let (refreshed, _) = s
            .tokens
            .refresh(login.session.refresh_token.as_str())
            .await
            .unwrap();
        let a: Claims<SessionClaims> = verifier.verify(&login.access.token).unwrap();
        let b: Claims<SessionClaims> = verifier.verify(&refreshed.access.token).unwrap();
        if a.iat == b.iat {
            break (a, b);
        }
    };
    assert_eq!(
        (&a.sub, &a.custom.sid),
        (&b.sub, &b.custom.sid),
        "one session"
    );
    let (ja, jb) = (a.jti.unwrap(), b.jti.unwrap());
    assert_ne!(ja, jb, "distinct jti within one second");
    assert_eq!(ja.len(), 22);
}

/// A session store whose database is down, with a secret in its error.
struct Down;

impl passport_actix::session::SessionStore for Down {
    type User = User;

    async fn create_session(
        &self,
        _: &passport_actix::session::NewSession,
    ) -> Result<(), passport_actix::StoreError> {
        Err(passport_actix::StoreError::unavailable(
            "connect to db (password=hunter2) timed out",
        ))
    }

    async fn rotate_refresh_token(
        &self,
        _: &passport_actix::session::Rotation,
    ) -> Result<passport_actix::session::Rotated<User>, passport_actix::StoreError> {
        Err(passport_actix::StoreError::unavailable(
            "connect to db (password=hunter2) timed out",
        ))
    }

    async fn revoke_session(&self, _: &str) -> Result<bool, passport_actix::StoreError> {
        Err(passport_actix::StoreError::other(
            "revoke failed (password=hunter2)",
        ))
    }

    async fn revoke_user_sessions(
        &self,
        _: &str,
        _: Option<&str>,
    ) -> Result<Vec<String>, passport_actix::StoreError> {
        Err(passport_actix::StoreError::other(
            "revoke failed (password=hunter2)",
        ))
    }
}

#[actix_rt::test]
async fn a_store_failure_is_a_503_without_detail_and_a_sessionless_logout_a_400() {
    let config = JwtConfig::hmac(SECRET, "notes", "notes").unwrap();
    let tokens = SessionTokens::new(Sessions::new(Arc::new(Down)), config.issuer());
    let mut passport = Passport::<User>::new();
    let robot = User::new(uuid::Uuid::nil(), "robot@example.com".into());
    passport.register(
        "robot",
        passport_actix::strategy_fn(async move |_: &passport_actix::AuthRequest| {
            passport_actix::Outcome::success(robot.clone())
        }),
    );
    let guard = passport.authenticate("robot").unwrap();
    let app = test::init_service(
        App::new()
            .route("/token/refresh", tokens.refresh_route())
            .service(
                web::resource("/logout")
                    .wrap(guard)
                    .route(tokens.logout_route()),
            ),
    )
    .await;

    let refresh = test::TestRequest::post()
        .uri("/token/refresh")
        .set_json(json!({"refresh_token": "a".repeat(43)}))
        .to_request();
    let res = test::call_service(&app, refresh).await;
    assert_eq!(res.status(), 503);
    let body = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "service_unavailable"
    );
    assert!(!body.contains("hunter2"), "{body}");

    // A credential of a strategy that names no session: nothing to end.
    let logout = test::TestRequest::post().uri("/logout").to_request();
    let (status, _, body) = call(&app, logout).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(tokens.start(&uuid::Uuid::nil().to_string()).await.is_err());
}
