//! Passport.js-style authentication for actix-web.
//!
//! Register **strategies by name**, then guard scopes and resources with
//! `passport.authenticate("name")`, exactly as Passport's users know it — typed, async, and
//! with the security defaults a production auth server needs.
//!
//! | Passport.js                                   | passport-actix                                   |
//! |-----------------------------------------------|--------------------------------------------------|
//! | `passport.use('login', new LocalStrategy(…))` | [`Passport::register`]`("login", LocalStrategy::new(Mode::Login, …))` |
//! | `passport.authenticate('jwt')`                | `.wrap(passport.`[`authenticate`](Passport::authenticate)`("jwt")?)` |
//! | `passport.authenticate(['jwt', 'api-key'])`   | `passport.authenticate(["jwt", "api-key"])?`     |
//! | `req.user`, `req.authInfo`                    | the [`Authenticated<U>`] extractor               |
//! | custom callback `(err, user, info) => …`      | [`Passport::callback`] and an [`Outcome`]        |
//! | `success` / `fail` / `pass` / `error` / `redirect` | the variants of [`Outcome`]                 |
//!
//! # A strategy is one async method
//!
//! ```
//! use passport_actix::{AuthRequest, Authenticate, Failure, Outcome};
//!
//! /// Accepts requests carrying the right `x-api-key` header.
//! struct ApiKey;
//!
//! impl Authenticate<String> for ApiKey {
//!     async fn authenticate(&self, req: &AuthRequest) -> Outcome<String> {
//!         match req.http().headers().get("x-api-key").map(|v| v.as_bytes()) {
//!             Some(b"let-me-in") => Outcome::success("robot".to_owned()),
//!             Some(_) => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key").with_challenge("ApiKey")),
//!             None => Outcome::Fail(Failure::missing("missing_api_key", "No API key").with_challenge("ApiKey")),
//!         }
//!     }
//! }
//! ```
//!
//! # Register it and guard a scope
//!
//! Chains run in order: the first success, pass or error ends the chain; when every strategy
//! fails, one response carries every challenge. An unknown name is an error when the guard is
//! built, not at the first request.
//!
//! ```
//! # use passport_actix::{AuthRequest, Authenticate, Failure, Outcome};
//! # struct ApiKey;
//! # impl Authenticate<String> for ApiKey {
//! #     async fn authenticate(&self, req: &AuthRequest) -> Outcome<String> {
//! #         match req.http().headers().get("x-api-key").map(|v| v.as_bytes()) {
//! #             Some(b"let-me-in") => Outcome::success("robot".to_owned()),
//! #             _ => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key").with_challenge("ApiKey")),
//! #         }
//! #     }
//! # }
//! # #[cfg(feature = "jwt")] {
//! use actix_web::{test, web, App, HttpResponse};
//! use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy};
//! use passport_actix::{Authenticated, Passport};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
//! let mut passport = Passport::<String>::new();
//! passport.register("api-key", ApiKey);
//! passport.register("jwt", JwtStrategy::new(
//!     config.verifier(),
//!     ExtractJwt::from_auth_header_as_bearer_token(),
//!     |claims: Claims<()>| async move { Ok(Some(claims.sub)) },
//! ));
//! let guard = passport.authenticate(["jwt", "api-key"]).unwrap();
//! assert!(passport.authenticate("oauth").is_err());
//!
//! let app = test::init_service(App::new().service(
//!     web::scope("/user").wrap(guard).route("/me", web::get().to(
//!         |user: Authenticated<String>| async move { HttpResponse::Ok().body(user.into_inner()) },
//!     )),
//! )).await;
//!
//! let token = config.issuer().issue("ada", ()).unwrap().token;
//! let req = test::TestRequest::get().uri("/user/me")
//!     .insert_header(("authorization", format!("Bearer {token}"))).to_request();
//! assert_eq!(test::call_and_read_body(&app, req).await, "ada");
//!
//! let req = test::TestRequest::get().uri("/user/me").insert_header(("x-api-key", "let-me-in")).to_request();
//! assert_eq!(test::call_and_read_body(&app, req).await, "robot");
//!
//! let res = test::call_service(&app, test::TestRequest::get().uri("/user/me").to_request()).await;
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers().get_all("www-authenticate").count(), 2, "one challenge per strategy");
//! # });
//! # }
//! ```
//!
//! # Cargo features
//!
//! | feature | default | what it brings |
//! | --- | --- | --- |
//! | `jwt` | yes | [`jwt`]: the JWT strategy, token issuer and verifier (jsonwebtoken) |
//! | `local` | yes | [`local`]: signup/login with bcrypt on a [`BlockingPool`], the email check, the password policy and its 10,000-entry list |
//! | `argon2` | no | `local::Argon2id` and migration between password schemes |
//! | `jwks` | no | `jwt::RemoteKeySet`: verify with an issuer's remote JWKS (`jwks-rustls` for HTTPS) |
//! | `oidc` | no | `oidc::OidcStrategy`: "log in with an OpenID provider" (authorization code + PKCE, ID token checked against the provider's JWKS) |
//!
//! A service that only verifies tokens needs `default-features = false, features = ["jwt"]`:
//! no bcrypt, no hashing pool, no password list.
//!
//! # Signup and login
//!
//! The [`local`] module mirrors passport-local: [`local::LocalStrategy`] in
//! [`local::Mode::Signup`] or [`local::Mode::Login`] over a [`local::UserStore`] you implement,
//! hashing with bcrypt on a [`BlockingPool`] of low-priority threads (never on the async
//! executor), with a NIST SP 800-63B password policy, a per-account [`local::LoginThrottle`],
//! and login failures that look the same for an unknown email and a wrong password.
//!
//! # Tokens
//!
//! The [`jwt`] module mirrors passport-jwt: [`jwt::ExtractJwt`] finds tokens (query
//! parameter, bearer header, any header, cookie, or several), [`jwt::JwtVerifier`] enforces an
//! algorithm allow-list and required `exp`/`iss`/`aud`, and [`jwt::TokenIssuer`] signs tokens
//! with a lifetime.
//!
//! # Sessions and refresh tokens
//!
//! The [`session`] module adds a lifecycle to tokens: [`session::Sessions`] starts a session
//! at login and rotates its opaque [`session::RefreshToken`] on every refresh, with reuse
//! detection (a used-up token presented after a grace revokes the session), over a
//! [`session::SessionStore`] you implement. Put the session id in your access tokens and
//! check it in the JWT strategy's verify callback through a [`session::LivenessCache`], so
//! that revocation is honoured without a database round trip per request.
//!
//! # Reading other fields
//!
//! [`read_fields`] reads named string fields from a JSON or urlencoded body with the same
//! strictness as the local strategy (for a refresh token, a new password, …).
//!
//! # Signing keys
//!
//! Keys are an HMAC secret ([`jwt::JwtConfig::hmac`], HS256 by default) or asymmetric
//! ([`jwt::JwtConfig::asymmetric`] with a [`jwt::SigningKey`]: EdDSA, ES256 or RS256). Asymmetric
//! tokens carry `kid`, the RFC 7638 thumbprint of their key; a verifier picks the key by `kid`
//! from a [`jwt::KeySet`] and takes the algorithm from the key, never from the token, and
//! [`jwt::JwtConfig::jwks`] is the JWKS to publish. With the `jwks` cargo feature (`jwks-rustls`
//! for HTTPS), `jwt::RemoteKeySet` lets a resource server verify with nothing but the issuer's
//! JWKS URL (see `examples/resource_server.rs`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "local")]
mod blocking;
mod chain;
mod challenge;
mod error;
mod extract;
mod fields;
#[cfg(feature = "jwt")]
pub mod jwt;
#[cfg(feature = "local")]
pub mod local;
mod middleware;
#[cfg(feature = "oidc")]
pub mod oidc;
mod outcome;
mod passport;
mod request;
mod responder;
pub mod session;
mod strategy;

#[cfg(feature = "local")]
pub use blocking::{Admission, BlockingPool, DEFAULT_ADMITTED_PER_THREAD};
pub use challenge::Challenge;
pub use error::{BoxError, ConfigError, ErrorKind, HashError, StoreError, StrategyError};
pub use extract::{Authenticated, ExtractError, MaybeAuthenticated};
pub use fields::read_fields;

/// Compares two byte strings in constant time (for the lengths given), so a response time
/// never reveals how much of a secret matched. Use it for API keys and other shared secrets.
///
/// # Examples
///
/// ```
/// use passport_actix::constant_time_eq;
///
/// assert!(constant_time_eq(b"let-me-in", b"let-me-in"));
/// assert!(!constant_time_eq(b"let-me-in", b"let-me-out"));
/// assert!(!constant_time_eq(b"short", b"longer"));
/// ```
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.ct_eq(b))
}
pub use middleware::{Authenticator, AuthenticatorService};
pub use outcome::{Failure, FailureKind, Info, Outcome, Redirect};
pub use passport::{Callback, Passport, StrategyNames};
pub use request::{AuthRequest, BodyError, DEFAULT_BODY_LIMIT, DEFAULT_BODY_READ_TIMEOUT};
pub use responder::{ErrorBody, FailureResponder, JsonResponder, error_response, failure_response};
pub use strategy::{Authenticate, FnStrategy, strategy_fn};
