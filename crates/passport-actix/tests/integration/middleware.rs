//! The `Authenticator` middleware, the registry and the extractors, outcome by outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use bytes::Bytes;
use passport_actix::local::{Credentials, FieldNames};
use passport_actix::{
    AuthRequest, Authenticate, Authenticated, BodyError, ConfigError, ErrorBody, Failure,
    FailureKind, Info, MaybeAuthenticated, Outcome, Passport, Redirect, StrategyError, strategy_fn,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Test strategies
// ---------------------------------------------------------------------------------------------

/// Answers with whatever `outcome` builds, and counts how often it ran.
struct Fixed {
    runs: Arc<AtomicUsize>,
    outcome: MakeOutcome,
}

impl Fixed {
    fn new(outcome: MakeOutcome) -> (Self, Arc<AtomicUsize>) {
        let runs = Arc::new(AtomicUsize::new(0));
        (
            Self {
                runs: Arc::clone(&runs),
                outcome,
            },
            runs,
        )
    }
}
impl Authenticate<String> for Fixed {
    async fn authenticate(&self, _req: &AuthRequest) -> Outcome<String> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        (self.outcome)()
    }
}

fn succeed_as_ada() -> Outcome<String> {
    Outcome::Success {
        user: "ada".to_owned(),
        info: Info::with_message("welcome back"),
    }
}

fn fail_bearer() -> Outcome<String> {
    Outcome::Fail(
        Failure::unauthorized("token_missing", "A bearer token is required")
            .with_kind(FailureKind::MissingCredentials)
            .with_challenge(r#"Bearer realm="api""#),
    )
}

fn fail_api_key() -> Outcome<String> {
    Outcome::Fail(
        Failure::unauthorized("api_key_missing", "An API key is required")
            .with_kind(FailureKind::MissingCredentials)
            .with_challenge(r#"ApiKey realm="api""#),
    )
}

fn fail_bad_request() -> Outcome<String> {
    Outcome::Fail(
        Failure::bad_request("invalid_request", "Send exactly one token")
            .with_challenge(r#"Bearer realm="api", error="invalid_request""#),
    )
}

fn pass() -> Outcome<String> {
    Outcome::Pass
}

fn internal_error() -> Outcome<String> {
    Outcome::Error(StrategyError::internal(
        "querying the sessions table",
        std::io::Error::other("connection to 10.0.0.7 refused; password=hunter2"),
    ))
}

fn unavailable() -> Outcome<String> {
    Outcome::Error(StrategyError::unavailable(
        "reaching the user store",
        std::io::Error::other("pool timed out"),
    ))
}

fn redirect_to_idp() -> Outcome<String> {
    Outcome::Redirect(Redirect::to(
        "https://idp.example/authorize?client_id=tests",
    ))
}

/// `x-user: <name>` authenticates as `<name>`, `x-user: bad` is wrong credentials, and no
/// header at all is missing credentials.
fn header_user() -> impl Authenticate<String> {
    strategy_fn(async |req: &AuthRequest| {
        match req
            .http()
            .headers()
            .get("x-user")
            .and_then(|v| v.to_str().ok())
        {
            None => Outcome::Fail(
                Failure::unauthorized("user_missing", "Send x-user")
                    .with_kind(FailureKind::MissingCredentials)
                    .with_challenge("XUser"),
            ),
            Some("bad") => Outcome::Fail(
                Failure::unauthorized("user_invalid", "Unknown x-user")
                    .with_challenge(r#"XUser error="invalid""#),
            ),
            Some(name) => Outcome::success(name.to_owned()),
        }
    })
}

/// Reads the body as credentials (the way the local strategy does) and authenticates as the
/// submitted username, so the handler must find the body again afterwards.
struct BodyCredentials;
impl Authenticate<String> for BodyCredentials {
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<String> {
        match Credentials::from_request(req, &FieldNames::default()).await {
            Ok(credentials) => Outcome::success(credentials.username),
            Err(failure) => Outcome::Fail(failure),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers and helpers
// ---------------------------------------------------------------------------------------------

async fn me(user: Authenticated<String>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "user": user.user(),
        "strategy": user.info().strategy(),
        "message": user.info().message(),
    }))
}

async fn maybe(user: MaybeAuthenticated<String>) -> HttpResponse {
    HttpResponse::Ok().body(
        user.user()
            .cloned()
            .unwrap_or_else(|| "anonymous".to_owned()),
    )
}

async fn echo_json(user: Authenticated<String>, body: web::Json<Value>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "user": user.into_inner(), "body": body.into_inner() }))
}

async fn echo_bytes(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().body(body)
}

/// Everything a test wants to know about a response.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: actix_web::http::header::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| panic!("not JSON: {:?}", self.body))
    }

    fn error_body(&self) -> ErrorBody {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not an ErrorBody: {:?}", self.body))
    }

    fn challenges(&self) -> Vec<&str> {
        self.headers
            .get_all(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// Serves `GET /me` (Authenticated), `GET /maybe` (MaybeAuthenticated), `POST /json` and
/// `POST /bytes` behind a guard for `names` (optional when asked), and sends `req`.
async fn call(
    passport: &Passport<String>,
    names: &[&str],
    optional: bool,
    req: test::TestRequest,
) -> Reply {
    let mut guard = passport.authenticate(names).unwrap();
    if optional {
        guard = guard.optional();
    }
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(guard)
                .route("/me", web::get().to(me))
                .route("/maybe", web::get().to(maybe))
                .route("/json", web::post().to(echo_json))
                .route("/bytes", web::post().to(echo_bytes)),
        ),
    )
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = test::read_body(res).await;
    Reply {
        status,
        headers,
        body,
    }
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

/// Builds the outcome a `Fixed` strategy answers with.
type MakeOutcome = fn() -> Outcome<String>;

/// A passport with one `Fixed` strategy per `(name, outcome)`, and the run counters.
fn fixed(strategies: &[(&str, MakeOutcome)]) -> (Passport<String>, Vec<Arc<AtomicUsize>>) {
    let mut passport = Passport::new();
    let mut counters = Vec::new();
    for (name, outcome) in strategies {
        let (strategy, runs) = Fixed::new(*outcome);
        passport.register(*name, strategy);
        counters.push(runs);
    }
    (passport, counters)
}

fn runs(counter: &Arc<AtomicUsize>) -> usize {
    counter.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------------
// The five outcomes
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn on_success_the_handler_gets_the_user_and_the_strategy_name() {
    let (passport, counters) = fixed(&[("session", succeed_as_ada)]);
    let reply = call(&passport, &["session"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({ "user": "ada", "strategy": "session", "message": "welcome back" })
    );
    assert_eq!(runs(&counters[0]), 1);
}

#[actix_web::test]
async fn on_failure_the_handler_never_runs_and_the_client_gets_json_and_a_challenge() {
    let (passport, _) = fixed(&[("jwt", fail_bearer)]);
    let reply = call(&passport, &["jwt"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.error_body(),
        ErrorBody::new("token_missing", "A bearer token is required")
    );
    assert_eq!(
        reply.json().as_object().unwrap().len(),
        2,
        "only error and message"
    );
    assert_eq!(reply.challenges(), vec![r#"Bearer realm="api""#]);
    assert_eq!(reply.headers.get(CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(reply.headers.get(CACHE_CONTROL).unwrap(), "no-store");
}

#[actix_web::test]
async fn a_required_guard_whose_strategies_all_pass_answers_401_and_never_runs_the_handler() {
    // Fail closed: `/maybe` does not extract the user, so a guard that let a passed request
    // through would run it without anyone authenticated.
    let (passport, counters) = fixed(&[("anon", pass), ("other", pass)]);
    for path in ["/maybe", "/me"] {
        let reply = call(&passport, &["anon", "other"], false, get(path)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            reply.error_body(),
            ErrorBody::new("unauthorized", "Authentication required")
        );
    }
    assert_eq!(
        (runs(&counters[0]), runs(&counters[1])),
        (2, 2),
        "both were tried"
    );
}

#[actix_web::test]
async fn a_pass_means_not_mine_and_the_next_strategy_decides() {
    let (passport, counters) = fixed(&[("anon", pass), ("session", succeed_as_ada)]);
    let reply = call(&passport, &["anon", "session"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["user"], "ada");
    assert_eq!((runs(&counters[0]), runs(&counters[1])), (1, 1));

    let (passport, _) = fixed(&[("anon", pass), ("jwt", fail_bearer)]);
    let reply = call(&passport, &["anon", "jwt"], false, get("/maybe")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenges(), vec![r#"Bearer realm="api""#]);
}

#[actix_web::test]
async fn an_optional_guard_whose_strategies_all_pass_lets_the_request_through_anonymously() {
    let (passport, _) = fixed(&[("anon", pass)]);
    let reply = call(&passport, &["anon"], true, get("/maybe")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "anonymous");

    let reply = call(&passport, &["anon"], true, get("/me")).await;
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "Authenticated refuses an anonymous request"
    );
    assert_eq!(
        reply.error_body(),
        ErrorBody::new("unauthorized", "Authentication required")
    );
}

#[actix_web::test]
async fn on_error_the_client_gets_a_500_without_any_detail() {
    let (passport, _) = fixed(&[("db", internal_error)]);
    let reply = call(&passport, &["db"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        reply.error_body(),
        ErrorBody::new("internal_error", "An internal error occurred")
    );
    for secret in ["hunter2", "10.0.0.7", "sessions"] {
        assert!(
            !reply.text().contains(secret),
            "leaked {secret}: {}",
            reply.text()
        );
    }
    assert!(reply.challenges().is_empty());
}

#[actix_web::test]
async fn an_unavailable_dependency_gives_503_with_retry_after() {
    let (passport, _) = fixed(&[("db", unavailable)]);
    let reply = call(&passport, &["db"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_body().error, "service_unavailable");
    assert!(!reply.text().contains("pool timed out"));
    assert_eq!(reply.headers.get(RETRY_AFTER).unwrap(), "1");
}

#[actix_web::test]
async fn on_redirect_the_client_gets_302_and_a_location() {
    let (passport, _) = fixed(&[("oauth", redirect_to_idp)]);
    let reply = call(&passport, &["oauth"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    assert_eq!(
        reply.headers.get(LOCATION).unwrap(),
        "https://idp.example/authorize?client_id=tests"
    );
}

#[actix_web::test]
async fn a_redirect_keeps_the_status_the_strategy_chose() {
    let mut passport = Passport::<String>::new();
    passport.register(
        "oauth",
        strategy_fn(async |_req| {
            Outcome::Redirect(Redirect {
                location: "/login".into(),
                status: StatusCode::SEE_OTHER,
                cookies: vec![actix_web::cookie::Cookie::new("flow", "1")],
            })
        }),
    );
    let reply = call(&passport, &["oauth"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.headers.get(LOCATION).unwrap(), "/login");
    assert_eq!(reply.headers.get("set-cookie").unwrap(), "flow=1");
    assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
}

// ---------------------------------------------------------------------------------------------
// Extractors without the middleware
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn authenticated_on_a_route_without_the_middleware_is_a_500_not_a_panic() {
    let app = test::init_service(
        App::new()
            .route("/me", web::get().to(me))
            .route("/maybe", web::get().to(maybe)),
    )
    .await;
    for uri in ["/me", "/maybe"] {
        let res = test::call_service(&app, get(uri).to_request()).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        let body: ErrorBody = test::read_body_json(res).await;
        assert_eq!(
            body,
            ErrorBody::new("internal_error", "An internal error occurred")
        );
    }
}

#[actix_web::test]
async fn a_middleware_for_another_user_type_does_not_satisfy_the_extractor() {
    let mut passport = Passport::<u64>::new();
    passport.register("numeric", strategy_fn(async |_req| Outcome::success(7u64)));
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(passport.authenticate("numeric").unwrap())
                .route("/me", web::get().to(me)),
        ),
    )
    .await;
    let res = test::call_service(&app, get("/me").to_request()).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_body_read_by_a_strategy_is_still_there_for_web_json() {
    let mut passport = Passport::<String>::new();
    passport.register("body", BodyCredentials);
    let body =
        json!({ "email": "ada@example.com", "password": "correct horse", "note": [1, 2, 3] });
    let req = test::TestRequest::post().uri("/json").set_json(&body);
    let reply = call(&passport, &["body"], false, req).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({ "user": "ada@example.com", "body": body })
    );
}

#[actix_web::test]
async fn a_body_read_by_a_strategy_is_still_there_for_web_bytes() {
    let mut passport = Passport::<String>::new();
    passport.register("body", BodyCredentials);
    let form = "email=ada%40example.com&password=correct+horse";
    let req = test::TestRequest::post()
        .uri("/bytes")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(form);
    let reply = call(&passport, &["body"], false, req).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), form);
}

#[actix_web::test]
async fn a_body_no_strategy_read_reaches_the_handler_untouched() {
    let mut passport = Passport::<String>::new();
    passport.register("header", header_user());
    let req = test::TestRequest::post()
        .uri("/bytes")
        .insert_header(("x-user", "ada"))
        .set_payload(vec![0u8, 159, 146, 150, 255]);
    let reply = call(&passport, &["header"], false, req).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], &[0u8, 159, 146, 150, 255]);
}

#[actix_web::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let mut passport = Passport::<String>::new();
    passport.register("body", BodyCredentials);
    passport.body_limit(64);
    let padding = "x".repeat(100);
    let req = test::TestRequest::post().uri("/json").set_json(
        json!({ "email": "ada@example.com", "password": "correct horse", "padding": padding }),
    );
    let reply = call(&passport, &["body"], false, req).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_body().error, "payload_too_large");

    // Just under the limit is fine.
    let req = test::TestRequest::post()
        .uri("/json")
        .set_json(json!({ "email": "ada@example.com", "password": "pw" }));
    let reply = call(&passport, &["body"], false, req).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[actix_web::test]
async fn a_streamed_body_without_content_length_is_cut_at_the_limit() {
    let http = test::TestRequest::post().to_http_request();
    assert!(http.headers().get("content-length").is_none());
    let req =
        AuthRequest::new(http.clone(), Payload::from(Bytes::from(vec![b'a'; 100]))).body_limit(16);
    assert!(matches!(
        req.body().await,
        Err(BodyError::TooLarge { limit: 16 })
    ));

    let req =
        AuthRequest::new(http, Payload::from(Bytes::from_static(b"0123456789"))).body_limit(16);
    assert_eq!(req.body().await.unwrap(), "0123456789");
    assert_eq!(
        req.body().await.unwrap(),
        "0123456789",
        "a second read gives the same bytes"
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn an_unknown_strategy_name_is_an_error_when_the_guard_is_built() {
    let (passport, _) = fixed(&[("jwt", fail_bearer), ("api-key", fail_api_key)]);
    assert_eq!(
        passport.authenticate("oauth").err(),
        Some(ConfigError::UnknownStrategy {
            name: "oauth".into(),
            registered: "api-key, jwt".into()
        })
    );
    assert!(matches!(
        passport.authenticate(["jwt", "jtw"]).err(),
        Some(ConfigError::UnknownStrategy { name, .. }) if name == "jtw"
    ));
    assert!(matches!(
        passport.callback("oauth").err(),
        Some(ConfigError::UnknownStrategy { .. })
    ));
    let message = passport.authenticate("oauth").err().unwrap().to_string();
    assert!(
        message.contains("\"oauth\"") && message.contains("api-key, jwt"),
        "{message}"
    );
}

#[actix_web::test]
async fn an_empty_chain_is_an_error() {
    let (passport, _) = fixed(&[("jwt", fail_bearer)]);
    let none: [&str; 0] = [];
    assert_eq!(
        passport.authenticate(none).err(),
        Some(ConfigError::EmptyChain)
    );
    assert_eq!(
        passport.authenticate(Vec::<String>::new()).err(),
        Some(ConfigError::EmptyChain)
    );
    assert_eq!(passport.callback(none).err(), Some(ConfigError::EmptyChain));
}

#[actix_web::test]
async fn registering_a_name_again_replaces_the_strategy_for_new_guards_only() {
    let mut passport = Passport::<String>::new();
    assert!(!passport.register(
        "main",
        strategy_fn(async |_req| { Outcome::success("first".to_owned()) })
    ));
    let old_guard_passport = passport.clone();
    assert!(passport.register(
        "main",
        strategy_fn(async |_req| { Outcome::success("second".to_owned()) })
    ));
    assert_eq!(passport.names().collect::<Vec<_>>(), vec!["main"]);

    let reply = call(&passport, &["main"], false, get("/me")).await;
    assert_eq!(reply.json()["user"], "second");
    // A passport cloned before the replacement still holds the first strategy.
    let reply = call(&old_guard_passport, &["main"], false, get("/me")).await;
    assert_eq!(reply.json()["user"], "first");
}

#[actix_web::test]
async fn a_built_guard_is_not_affected_by_later_changes_to_the_registry() {
    let mut passport = Passport::<String>::new();
    passport.register(
        "main",
        strategy_fn(async |_req| Outcome::success("first".to_owned())),
    );
    let guard = passport.authenticate("main").unwrap();
    passport.register(
        "main",
        strategy_fn(async |_req| Outcome::success("second".to_owned())),
    );
    assert!(passport.remove("main"));
    let app = test::init_service(
        App::new().service(web::scope("").wrap(guard).route("/me", web::get().to(me))),
    )
    .await;
    let body: Value = test::call_and_read_body_json(&app, get("/me").to_request()).await;
    assert_eq!(body["user"], "first");
}

#[actix_web::test]
async fn a_removed_strategy_can_no_longer_be_named() {
    let (mut passport, _) = fixed(&[("jwt", fail_bearer), ("api-key", fail_api_key)]);
    assert!(passport.contains("jwt"));
    assert!(passport.remove("jwt"));
    assert!(
        !passport.remove("jwt"),
        "removing twice reports nothing removed"
    );
    assert!(!passport.contains("jwt"));
    assert_eq!(passport.names().collect::<Vec<_>>(), vec!["api-key"]);
    assert!(matches!(
        passport.authenticate("jwt").err(),
        Some(ConfigError::UnknownStrategy { registered, .. }) if registered == "api-key"
    ));
}

// ---------------------------------------------------------------------------------------------
// The optional guard
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn an_optional_guard_lets_a_request_without_credentials_through_as_anonymous() {
    let mut passport = Passport::<String>::new();
    passport.register("header", header_user());
    let reply = call(&passport, &["header"], true, get("/maybe")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "anonymous");

    // Authenticated still insists on a user.
    let reply = call(&passport, &["header"], true, get("/me")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_body().error, "unauthorized");

    // The same request to a required guard is refused.
    let reply = call(&passport, &["header"], false, get("/maybe")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_body().error, "user_missing");
}

#[actix_web::test]
async fn an_optional_guard_still_refuses_wrong_credentials() {
    let mut passport = Passport::<String>::new();
    passport.register("header", header_user());
    let reply = call(
        &passport,
        &["header"],
        true,
        get("/maybe").insert_header(("x-user", "bad")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_body().error, "user_invalid");
    assert_eq!(reply.challenges(), vec![r#"XUser error="invalid""#]);
}

#[actix_web::test]
async fn an_optional_guard_authenticates_good_credentials() {
    let mut passport = Passport::<String>::new();
    passport.register("header", header_user());
    let reply = call(
        &passport,
        &["header"],
        true,
        get("/maybe").insert_header(("x-user", "grace")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "grace");
}

#[actix_web::test]
async fn an_optional_chain_refuses_when_any_strategy_saw_wrong_credentials() {
    let mut passport = Passport::<String>::new();
    passport.register("header", header_user());
    let (jwt, _) = Fixed::new(fail_bearer);
    passport.register("jwt", jwt);
    let reply = call(
        &passport,
        &["jwt", "header"],
        true,
        get("/maybe").insert_header(("x-user", "bad")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenges().len(), 2);

    let reply = call(&passport, &["jwt", "header"], true, get("/maybe")).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "nothing but missing credentials"
    );
    assert_eq!(reply.text(), "anonymous");
}

// ---------------------------------------------------------------------------------------------
// Chains
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn in_a_chain_the_first_success_wins_and_later_strategies_never_run() {
    let (passport, counters) = fixed(&[("first", succeed_as_ada), ("second", fail_bearer)]);
    let reply = call(&passport, &["first", "second"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["strategy"], "first");
    assert_eq!(runs(&counters[0]), 1);
    assert_eq!(runs(&counters[1]), 0, "the second strategy must not run");
}

#[actix_web::test]
async fn in_a_chain_a_failure_lets_the_next_strategy_try() {
    let (passport, counters) = fixed(&[("jwt", fail_bearer), ("session", succeed_as_ada)]);
    let reply = call(&passport, &["jwt", "session"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["strategy"], "session");
    assert_eq!((runs(&counters[0]), runs(&counters[1])), (1, 1));
}

#[actix_web::test]
async fn in_a_chain_error_and_redirect_also_end_the_chain() {
    // (A pass does not: see a_pass_means_not_mine_and_the_next_strategy_decides.)
    for (name, outcome, status) in [
        (
            "error",
            internal_error as MakeOutcome,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        ("redirect", redirect_to_idp, StatusCode::FOUND),
    ] {
        let (passport, counters) = fixed(&[(name, outcome), ("after", succeed_as_ada)]);
        let reply = call(&passport, &[name, "after"], false, get("/maybe")).await;
        assert_eq!(reply.status, status, "{name}");
        assert_eq!(runs(&counters[1]), 0, "{name} must end the chain");
    }
}

#[actix_web::test]
async fn when_every_strategy_fails_one_401_carries_every_challenge() {
    let (passport, counters) = fixed(&[("jwt", fail_bearer), ("api-key", fail_api_key)]);
    let reply = call(&passport, &["jwt", "api-key"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenges(),
        vec![r#"Bearer realm="api""#, r#"ApiKey realm="api""#]
    );
    assert_eq!(
        reply.error_body().error,
        "token_missing",
        "the first failure speaks"
    );
    assert_eq!((runs(&counters[0]), runs(&counters[1])), (1, 1));
}

#[actix_web::test]
async fn when_the_first_failure_is_a_400_its_status_and_body_win() {
    let (passport, _) = fixed(&[("jwt", fail_bad_request), ("api-key", fail_api_key)]);
    let reply = call(&passport, &["jwt", "api-key"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.error_body(),
        ErrorBody::new("invalid_request", "Send exactly one token")
    );
    assert_eq!(
        reply.challenges(),
        vec![r#"Bearer realm="api", error="invalid_request""#]
    );
}

#[actix_web::test]
async fn a_throttled_failure_carries_retry_after() {
    let mut passport = Passport::<String>::new();
    passport.register(
        "slow",
        strategy_fn(async |_req| {
            Outcome::Fail(Failure::throttled(std::time::Duration::from_secs(42)))
        }),
    );
    let reply = call(&passport, &["slow"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.headers.get(RETRY_AFTER).unwrap(), "42");
    assert_eq!(reply.error_body().error, "too_many_attempts");
}

// ---------------------------------------------------------------------------------------------
// Custom responder and callback
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_custom_responder_closure_shapes_the_failure_response() {
    let (mut passport, _) = fixed(&[
        ("jwt", fail_bearer),
        ("api-key", fail_api_key),
        ("db", internal_error),
    ]);
    passport.responder(|req: &HttpRequest, failures: &[Failure]| {
        let codes: Vec<&str> = failures.iter().map(Failure::code).collect();
        HttpResponse::Forbidden()
            .content_type("text/plain")
            .body(format!("{} refused: {}", req.path(), codes.join(",")))
    });
    let reply = call(&passport, &["jwt", "api-key"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.text(), "/me refused: token_missing,api_key_missing");
    assert!(reply.challenges().is_empty());

    // Errors still get the default error response.
    let reply = call(&passport, &["db"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.error_body().error, "internal_error");
}

#[actix_web::test]
async fn a_callback_hands_the_outcome_to_the_handler() {
    let (passport, _) = fixed(&[("jwt", fail_bearer), ("api-key", fail_api_key)]);
    let callback = passport.callback(["jwt", "api-key"]).unwrap();
    let http = test::TestRequest::get().uri("/login").to_http_request();
    let outcome = callback
        .run(AuthRequest::with_body(http.clone(), Bytes::new()))
        .await;
    let Outcome::Fail(failure) = outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    assert_eq!(
        failure.code(),
        "token_missing",
        "the first failure is returned"
    );
    let response = callback.respond(&http, Outcome::Fail(failure));
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (passport, _) = fixed(&[("session", succeed_as_ada)]);
    let callback = passport.callback("session").unwrap();
    let outcome = callback
        .run(AuthRequest::with_body(http, Bytes::new()))
        .await;
    assert!(
        matches!(&outcome, Outcome::Success { user, info } if user == "ada" && info.strategy() == Some("session")),
        "{outcome:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The natural way to write a strategy is the right one
// ---------------------------------------------------------------------------------------------

fn fail_wrong_api_key() -> Outcome<String> {
    Outcome::Fail(
        Failure::unauthorized("api_key_invalid", "The API key is not valid")
            .with_challenge(r#"ApiKey realm="api", error="invalid_key""#),
    )
}

#[actix_web::test]
async fn when_every_strategy_fails_the_body_is_the_most_specific_failure() {
    // "jwt" found no token, "api-key" found a wrong key: the client is told about the key.
    let (passport, _) = fixed(&[("jwt", fail_bearer), ("api-key", fail_wrong_api_key)]);
    let reply = call(&passport, &["jwt", "api-key"], false, get("/me")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_body().error, "api_key_invalid");
    assert_eq!(
        reply.challenges(),
        vec![
            r#"Bearer realm="api""#,
            r#"ApiKey realm="api", error="invalid_key""#
        ],
        "every challenge, in chain order"
    );
    // When none found credentials, the first one speaks.
    let (passport, _) = fixed(&[("jwt", fail_bearer), ("api-key", fail_api_key)]);
    let reply = call(&passport, &["jwt", "api-key"], false, get("/me")).await;
    assert_eq!(reply.error_body().error, "token_missing");
}

#[actix_web::test]
async fn an_optional_guard_lets_through_a_strategy_written_with_failure_missing() {
    let mut passport = Passport::<String>::new();
    passport.register(
        "api-key",
        strategy_fn(async |req| match req.http().headers().get("x-api-key") {
            None => Outcome::Fail(Failure::missing("api_key_missing", "No API key")),
            Some(_) => Outcome::Fail(Failure::unauthorized("api_key_invalid", "Bad key")),
        }),
    );
    let reply = call(&passport, &["api-key"], true, get("/maybe")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "anonymous");
    let reply = call(
        &passport,
        &["api-key"],
        true,
        get("/maybe").insert_header(("x-api-key", "wrong")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
