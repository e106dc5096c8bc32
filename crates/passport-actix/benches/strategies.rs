//! Micro benchmarks of the hot paths of a guarded request, in process (no sockets):
//! token signing and verification, each token extractor, the `Authenticated` extractors, and
//! the middleware chain with one and three strategies through `actix_web::test`.
//!
//! ```text
//! cargo bench -p passport-actix --bench strategies                      # full measurement
//! cargo bench -p passport-actix --bench strategies -- --quick           # a few seconds per group
//! cargo bench -p passport-actix --bench strategies -- --test            # CI smoke: each once, no timing
//! ```
//!
//! Nothing here asserts a duration; the figures are recorded in BENCHMARKS.md.

#![allow(missing_docs)]

use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::rc::Rc;

use actix_web::dev::{Payload, Service};
use actix_web::http::header::{AUTHORIZATION, COOKIE, HeaderName};
use actix_web::test::{self, TestRequest};
use actix_web::{App, FromRequest, HttpRequest, HttpResponse, web};
use criterion::async_executor::AsyncExecutor;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use passport_actix::jwt::{Claims, ExtractJwt, Extracted, JwtConfig, JwtStrategy};
use passport_actix::{
    AuthRequest, Authenticated, Failure, MaybeAuthenticated, Outcome, Passport, strategy_fn,
};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"a benchmark secret of at least thirty-two bytes";
const ISSUER: &str = "passport-server";
const AUDIENCE: &str = "passport-api";
const SUBJECT: &str = "5b0e7c1e-3f7a-4c53-9a57-5d1c4f1d9a3e";
const EMAIL: &str = "ada@example.com";

/// The server's custom claims.
#[derive(Clone, Serialize, Deserialize)]
struct Email {
    email: String,
}

/// The server's user type, in shape.
#[derive(Clone)]
struct User {
    id: String,
    email: String,
}

/// Runs criterion's async benchmarks on actix's runtime (a current-thread tokio runtime with a
/// `LocalSet`), as actix-web runs handlers.
struct Actix(actix_rt::Runtime);

impl AsyncExecutor for &Actix {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.0.block_on(future)
    }
}

fn config() -> JwtConfig {
    JwtConfig::hmac(SECRET, ISSUER, AUDIENCE).expect("a valid benchmark secret")
}

fn token() -> String {
    config()
        .issuer()
        .issue(
            SUBJECT,
            Email {
                email: EMAIL.to_owned(),
            },
        )
        .expect("signing works")
        .token
}

fn server_extractor() -> ExtractJwt {
    ExtractJwt::from_extractors([
        ExtractJwt::from_auth_header_as_bearer_token(),
        ExtractJwt::from_url_query_parameter("secret_token"),
    ])
}

/// A strategy that fails at once, as an API-key strategy does for a request without its header.
fn absent_api_key(header: &'static str) -> impl passport_actix::Authenticate<User> {
    strategy_fn(
        async move |req: &AuthRequest| match req.http().headers().get(header) {
            Some(_) => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key")),
            None => Outcome::Fail(
                Failure::unauthorized("missing_api_key", "No API key").with_challenge("ApiKey"),
            ),
        },
    )
}

fn passport() -> Passport<User> {
    let mut passport = Passport::new();
    passport.register(
        "jwt",
        JwtStrategy::new(
            config().verifier(),
            server_extractor(),
            |claims: Claims<Email>| {
                std::future::ready(Ok(Some(User {
                    id: claims.sub,
                    email: claims.custom.email,
                })))
            },
        ),
    );
    passport.register("key-a", absent_api_key("x-key-a"));
    passport.register("key-b", absent_api_key("x-key-b"));
    passport
}

fn jwt(c: &mut Criterion) {
    let config = config();
    let issuer = config.issuer();
    let verifier = config.verifier();
    let good = token();
    let forged = {
        let other = JwtConfig::hmac(
            b"another secret of at least thirty-two bytes!",
            ISSUER,
            AUDIENCE,
        )
        .expect("a valid secret");
        other
            .issuer()
            .issue(
                SUBJECT,
                Email {
                    email: EMAIL.to_owned(),
                },
            )
            .expect("signing works")
            .token
    };
    assert!(
        verifier.verify::<Email>(&good).is_ok(),
        "the benchmark token verifies"
    );
    assert!(
        verifier.verify::<Email>(&forged).is_err(),
        "the forged token does not"
    );

    let mut group = c.benchmark_group("jwt");
    group.bench_function("sign_hs256", |b| {
        b.iter(|| {
            issuer.issue(
                black_box(SUBJECT),
                Email {
                    email: EMAIL.to_owned(),
                },
            )
        })
    });
    group.bench_function("verify_hs256_valid", |b| {
        b.iter(|| verifier.verify::<Email>(black_box(&good)))
    });
    // What a bare actix-web route does with jsonwebtoken alone (one typed decode, the same
    // required claims): the floor under `verify_hs256_valid`.
    let bare_key = jsonwebtoken::DecodingKey::from_secret(SECRET);
    let mut bare = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    bare.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    bare.set_issuer(&[ISSUER]);
    bare.set_audience(&[AUDIENCE]);
    assert!(jsonwebtoken::decode::<Claims<Email>>(&good, &bare_key, &bare).is_ok());
    group.bench_function("verify_hs256_bare_jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<Claims<Email>>(black_box(&good), &bare_key, &bare))
    });
    group.bench_function("verify_hs256_forged", |b| {
        b.iter(|| verifier.verify::<Email>(black_box(&forged)))
    });
    group.finish();
}

fn extractors(c: &mut Criterion) {
    let token = token();
    let bearer = TestRequest::get()
        .uri("/user/profile")
        .insert_header((AUTHORIZATION, format!("Bearer {token}")))
        .to_http_request();
    let query = TestRequest::get()
        .uri(&format!("/user/profile?secret_token={token}"))
        .to_http_request();
    let cookie = TestRequest::get()
        .uri("/user/profile")
        .insert_header((COOKIE, format!("session=abc; jwt={token}; theme=dark")))
        .to_http_request();
    let custom_header = HeaderName::from_static("x-access-token");
    let header = TestRequest::get()
        .uri("/user/profile")
        .insert_header((custom_header.clone(), token.clone()))
        .to_http_request();
    let none = TestRequest::get().uri("/user/profile").to_http_request();

    let cases: [(&str, ExtractJwt, &HttpRequest); 6] = [
        (
            "bearer_header",
            ExtractJwt::from_auth_header_as_bearer_token(),
            &bearer,
        ),
        (
            "query_parameter",
            ExtractJwt::from_url_query_parameter("secret_token"),
            &query,
        ),
        ("cookie", ExtractJwt::from_cookie("jwt"), &cookie),
        (
            "custom_header",
            ExtractJwt::from_header(custom_header, None),
            &header,
        ),
        ("server_chain_hit_query", server_extractor(), &query),
        ("server_chain_no_token", server_extractor(), &none),
    ];
    let mut group = c.benchmark_group("extract_jwt");
    for (name, extractor, req) in &cases {
        let expected_none = *name == "server_chain_no_token";
        assert_eq!(
            matches!(extractor.extract(req), Extracted::None),
            expected_none,
            "{name}"
        );
        group.bench_function(*name, |b| b.iter(|| extractor.extract(black_box(req))));
    }
    group.finish();
}

/// A request as the handler sees it after the guard: kept from a real pass through the
/// middleware, so the extractors read genuine state.
fn guarded_request(rt: &Actix, optional: bool, with_token: bool) -> HttpRequest {
    let kept: Rc<RefCell<Option<HttpRequest>>> = Rc::default();
    let guard = passport().authenticate("jwt").expect("registered");
    let guard = if optional { guard.optional() } else { guard };
    let slot = Rc::clone(&kept);
    rt.0.block_on(async move {
        let app = test::init_service(App::new().service(web::resource("/r").wrap(guard).route(
            web::get().to(move |req: HttpRequest| {
                *slot.borrow_mut() = Some(req);
                async { HttpResponse::Ok().finish() }
            }),
        )))
        .await;
        let mut req = TestRequest::get().uri("/r");
        if with_token {
            req = req.insert_header((AUTHORIZATION, format!("Bearer {}", token())));
        }
        let res = test::call_service(&app, req.to_request()).await;
        assert!(
            res.status().is_success(),
            "the guard let the request through"
        );
    });
    kept.borrow_mut().take().expect("the handler ran")
}

fn user_extractors(c: &mut Criterion) {
    let rt = Actix(actix_rt::Runtime::new().expect("a runtime"));
    let authenticated = guarded_request(&rt, false, true);
    let anonymous = guarded_request(&rt, true, false);
    let mut group = c.benchmark_group("extract_user");
    group.bench_function("authenticated", |b| {
        b.iter(|| {
            let user = Authenticated::<User>::extract(black_box(&authenticated)).into_inner();
            user.map(|u| u.user().id.len() + u.user().email.len())
        })
    });
    group.bench_function("maybe_authenticated_user", |b| {
        b.iter(|| {
            MaybeAuthenticated::<User>::from_request(black_box(&authenticated), &mut Payload::None)
                .into_inner()
        })
    });
    group.bench_function("maybe_authenticated_anonymous", |b| {
        b.iter(|| {
            MaybeAuthenticated::<User>::from_request(black_box(&anonymous), &mut Payload::None)
                .into_inner()
        })
    });
    group.finish();
}

async fn handler(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Ok().body(user.into_inner().id)
}

async fn plain() -> HttpResponse {
    HttpResponse::Ok().body(SUBJECT)
}

/// Benchmarks one request to `/r` through a whole in-process app (routing, middleware,
/// handler, response), after checking its status once. A macro, because actix-http's request
/// type, which a generic function would have to name, is not re-exported by actix-web.
macro_rules! bench_app {
    ($group:expr, $rt:expr, $function:expr, $param:expr, $app:expr, $token:expr, $expected:expr) => {{
        let (app, token): (_, Option<&str>) = ($app, $token);
        let call = || {
            let mut req = TestRequest::get().uri("/r");
            if let Some(token) = token {
                req = req.insert_header((AUTHORIZATION, format!("Bearer {token}")));
            }
            let response = app.call(req.to_request());
            async move { response.await.expect("a response").status().as_u16() }
        };
        let (function, param): (&str, &str) = ($function, $param);
        assert_eq!($rt.0.block_on(call()), $expected, "{function}/{param}");
        $group.bench_function(BenchmarkId::new(function, param), |b| {
            b.to_async($rt).iter(call)
        });
    }};
}

/// The guard with 1 and 3 strategies, each case in an app of its own (one route, so routing
/// costs the same everywhere), against the same app without a guard.
fn middleware(c: &mut Criterion) {
    let rt = Actix(actix_rt::Runtime::new().expect("a runtime"));
    let passport = passport();
    let token = token();
    let mut group = c.benchmark_group("middleware");

    let baseline = rt.0.block_on(test::init_service(
        App::new().route("/r", web::get().to(plain)),
    ));
    bench_app!(group, &rt, "unguarded", "baseline", &baseline, None, 200);

    let chains: [(&str, &[&str]); 3] = [
        ("1_jwt", &["jwt"]),
        ("3_jwt_first", &["jwt", "key-a", "key-b"]),
        ("3_jwt_last", &["key-a", "key-b", "jwt"]),
    ];
    for (name, names) in chains {
        let guard = passport.authenticate(names).expect("registered");
        let app = rt.0.block_on(test::init_service(
            App::new().service(
                web::resource("/r")
                    .wrap(guard)
                    .route(web::get().to(handler)),
            ),
        ));
        bench_app!(group, &rt, "chain_success", name, &app, Some(&token), 200);
        if name != "3_jwt_first" {
            bench_app!(group, &rt, "chain_401_no_token", name, &app, None, 401);
        }
    }
    group.finish();
}

criterion_group!(benches, jwt, extractors, user_extractors, middleware);
criterion_main!(benches);
