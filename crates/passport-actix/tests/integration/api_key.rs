//! The built-in `ApiKeyStrategy` behind real guards: construction refuses an empty key, the
//! right key gets in, a wrong one is a `401` with a JSON error, and a required guard whose
//! chain only passes answers `401` without running the handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{App, HttpResponse, test, web};
use passport_actix::api_key::ApiKeyStrategy;
use passport_actix::{Authenticated, ConfigError, MaybeAuthenticated, Passport};
use serde_json::{Value, json};

const JOBS_KEY: &str = "test-only key of the jobs, 0123456789abcdef";
const REPORTS_KEY: &str = "test-only key of the reports, fedcba9876543210";

/// `"header-key"` (`x-api-key`, two keys) and `"query-key"` (`?api_key=`), both answering
/// a request without their key with a pass when `pass_when_missing`.
fn passport(pass_when_missing: bool) -> Passport<String> {
    let header = ApiKeyStrategy::header("x-api-key", JOBS_KEY, "jobs".to_owned())
        .unwrap()
        .also_accept(REPORTS_KEY, "reports".to_owned())
        .unwrap();
    let query = ApiKeyStrategy::query("api_key", JOBS_KEY, "jobs-by-query".to_owned()).unwrap();
    let (header, query) = if pass_when_missing {
        (header.pass_when_missing(), query.pass_when_missing())
    } else {
        (header, query)
    };
    let mut passport = Passport::new();
    passport.register("header-key", header);
    passport.register("query-key", query);
    passport
}

struct Reply {
    status: StatusCode,
    challenges: Vec<String>,
    body: Value,
    /// How often the handler ran.
    handled: usize,
}

/// Serves `POST /wipe` (a handler that never extracts the user, like a careless admin route)
/// and `GET /me` behind `names`, and sends `req`.
async fn call(
    passport: &Passport<String>,
    names: &[&str],
    optional: bool,
    req: test::TestRequest,
) -> Reply {
    let handled = Arc::new(AtomicUsize::new(0));
    let mut guard = passport.authenticate(names).unwrap();
    if optional {
        guard = guard.optional();
    }
    let count = Arc::clone(&handled);
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(guard)
                .route(
                    "/wipe",
                    web::post().to(move || {
                        count.fetch_add(1, Ordering::SeqCst);
                        async { HttpResponse::Ok().json(json!({ "wiped": "everything" })) }
                    }),
                )
                .route(
                    "/me",
                    web::get().to(|caller: Authenticated<String>| async move {
                        HttpResponse::Ok().json(json!({
                            "caller": caller.user(),
                            "via": caller.info().strategy(),
                        }))
                    }),
                )
                .route(
                    "/maybe",
                    web::get().to(|caller: MaybeAuthenticated<String>| async move {
                        HttpResponse::Ok().json(json!({ "caller": caller.user() }))
                    }),
                ),
        ),
    )
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    let challenges = res
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = serde_json::from_slice(&test::read_body(res).await).unwrap();
    Reply {
        status,
        challenges,
        body,
        handled: handled.load(Ordering::SeqCst),
    }
}

fn me() -> test::TestRequest {
    test::TestRequest::get().uri("/me")
}

#[actix_web::test]
async fn an_empty_key_is_refused_when_the_strategy_is_built() {
    assert_eq!(
        ApiKeyStrategy::header("x-api-key", "", "jobs").err(),
        Some(ConfigError::EmptyApiKey)
    );
    assert_eq!(
        ApiKeyStrategy::query("api_key", "", "jobs").err(),
        Some(ConfigError::EmptyApiKey)
    );
    let unset = std::env::var("PASSPORT_TEST_SURELY_UNSET_API_KEY").unwrap_or_default();
    assert_eq!(
        ApiKeyStrategy::header("x-api-key", JOBS_KEY, "jobs")
            .unwrap()
            .also_accept(&unset, "nobody")
            .err(),
        Some(ConfigError::EmptyApiKey),
        "an unset variable never becomes a key that an empty header matches"
    );
    assert_eq!(
        ConfigError::EmptyApiKey.to_string(),
        "an API key must not be empty"
    );
}

#[actix_web::test]
async fn the_right_key_authenticates_as_its_user_in_a_header_or_the_query() {
    let passport = passport(false);
    for (key, caller) in [(JOBS_KEY, "jobs"), (REPORTS_KEY, "reports")] {
        let reply = call(
            &passport,
            &["header-key", "query-key"],
            false,
            me().insert_header(("x-api-key", key)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, json!({ "caller": caller, "via": "header-key" }));
    }
    let query = format!(
        "/me?api_key={}",
        form_urlencoded::byte_serialize(JOBS_KEY.as_bytes()).collect::<String>()
    );
    let reply = call(
        &passport,
        &["header-key", "query-key"],
        false,
        test::TestRequest::get().uri(&query),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({ "caller": "jobs-by-query", "via": "query-key" })
    );
}

#[actix_web::test]
async fn a_wrong_key_is_a_401_with_a_json_error_that_never_echoes_it() {
    let passport = passport(false);
    for wrong in [
        "nope",
        &JOBS_KEY[..JOBS_KEY.len() - 1],
        &format!("{JOBS_KEY}x"),
    ] {
        let reply = call(
            &passport,
            &["header-key"],
            false,
            test::TestRequest::post()
                .uri("/wipe")
                .insert_header(("x-api-key", wrong)),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert_eq!(
            reply.body,
            json!({ "error": "api_key_invalid", "message": "The API key is not valid" })
        );
        assert_eq!(
            reply.challenges,
            [r#"ApiKey realm="api", header="x-api-key", error="invalid_key""#]
        );
        assert_eq!(reply.handled, 0);
    }
    // Wrong credentials are refused under an optional guard too: never "anonymous".
    let reply = call(
        &passport,
        &["header-key"],
        true,
        test::TestRequest::get()
            .uri("/maybe")
            .insert_header(("x-api-key", "nope")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_required_guard_over_a_chain_that_only_passes_is_401_and_never_runs_the_handler() {
    let passport = passport(true);
    let reply = call(
        &passport,
        &["header-key", "query-key"],
        false,
        test::TestRequest::post().uri("/wipe"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.handled, 0, "fails closed: the handler never ran");
    assert_eq!(reply.body["error"], "unauthorized");
    assert!(reply.challenges.is_empty(), "{:?}", reply.challenges);
}

#[actix_web::test]
async fn no_key_under_an_optional_guard_is_anonymous_either_way() {
    for pass_when_missing in [false, true] {
        let reply = call(
            &passport(pass_when_missing),
            &["header-key", "query-key"],
            true,
            test::TestRequest::get().uri("/maybe"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, json!({ "caller": null }));
    }
}

#[actix_web::test]
async fn no_key_under_a_required_guard_is_401_with_every_challenge_by_default() {
    let reply = call(
        &passport(false),
        &["header-key", "query-key"],
        false,
        test::TestRequest::post().uri("/wipe"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.handled, 0);
    assert_eq!(reply.body["error"], "api_key_missing");
    assert_eq!(
        reply.challenges,
        [
            r#"ApiKey realm="api", header="x-api-key""#,
            r#"ApiKey realm="api", query="api_key""#
        ]
    );
}
