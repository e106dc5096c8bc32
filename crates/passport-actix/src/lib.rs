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
//! Chains run in order: the first success, error or redirect ends the chain; a strategy that
//! passes ("not mine") hands over to the next; when every strategy fails, one response
//! carries every challenge, and a guard whose strategies all pass answers `401` (it fails
//! closed). An unknown name is an error when the guard is
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
//! # Handlers: who is logged in
//!
//! Behind a guard, the [`Authenticated<U>`] extractor hands the user (and its [`Info`]: the
//! strategy's name, its message, the raw token) to the handler. [`Authenticator::optional`]
//! makes a guard that lets requests *without* credentials through as anonymous, read with
//! [`MaybeAuthenticated<U>`]; wrong credentials are still refused, so a bad token never
//! silently becomes "anonymous".
//!
//! ```
//! use actix_web::{test, web, App, HttpResponse};
//! use passport_actix::{strategy_fn, Failure, MaybeAuthenticated, Outcome, Passport};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let mut passport = Passport::<String>::new();
//! passport.register("api-key", strategy_fn(async |req| match req.http().headers().get("x-api-key") {
//!     None => Outcome::Fail(Failure::missing("missing_api_key", "No API key")),
//!     Some(key) if key == "let-me-in" => Outcome::success("robot".to_owned()),
//!     Some(_) => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key")),
//! }));
//! let app = test::init_service(App::new().service(
//!     web::resource("/hello").wrap(passport.authenticate("api-key").unwrap().optional()).to(
//!         |user: MaybeAuthenticated<String>| async move {
//!             HttpResponse::Ok().body(format!("hello {}", user.user().map_or("stranger", String::as_str)))
//!         },
//!     ),
//! )).await;
//! let anonymous = test::TestRequest::get().uri("/hello").to_request();
//! assert_eq!(test::call_and_read_body(&app, anonymous).await, "hello stranger");
//! let wrong = test::TestRequest::get().uri("/hello").insert_header(("x-api-key", "guess")).to_request();
//! assert_eq!(test::call_service(&app, wrong).await.status(), 401);
//! # });
//! ```
//!
//! # Deciding in the handler, and custom responses
//!
//! [`Passport::callback`] gives a [`Callback`] that runs strategies inside a handler and
//! returns the [`Outcome`] for you to act on (Passport's custom callback). When every
//! strategy of a guard fails, a [`FailureResponder`] writes the response: the default
//! [`JsonResponder`] answers the most specific [`Failure`] as an [`ErrorBody`]
//! (`{"error": "<code>", "message": "<text>"}`) with every [`Challenge`] in
//! `WWW-Authenticate`; [`Passport::responder`] replaces it, and [`failure_response`] /
//! [`error_response`] build the default responses by hand. Unexpected errors are a
//! [`StrategyError`] (500, or 503 for an unavailable dependency), logged and never detailed
//! to the client.
//!
//! # Signup and login
//!
//! The [`local`] module mirrors passport-local: [`local::LocalStrategy`] in
//! [`local::Mode::Signup`] or [`local::Mode::Login`] over a [`local::UserStore`] you implement,
//! hashing with bcrypt ([`local::Bcrypt`], or argon2id with the `argon2` feature) on a
//! [`BlockingPool`] of one thread per core (never on the async executor), with a NIST SP
//! 800-63B [`local::PasswordPolicy`], an optional per-account [`local::LoginThrottle`], and
//! login failures that look the same for an unknown email and a wrong password.
//!
//! ```
//! use std::sync::Arc;
//! use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
//! use passport_actix::store::{MemoryStore, User};
//! use passport_actix::Passport;
//!
//! // A shipped store (`SqlStore` on PostgreSQL or SQLite), or your `UserStore`.
//! let users = Arc::new(MemoryStore::new());
//! let hasher = Arc::new(Bcrypt::new(4).unwrap()); // 12 or more in production; 4 keeps this fast
//! let mut passport = Passport::<User>::new();
//! passport.register("signup", LocalStrategy::new(Mode::Signup, users.clone(), hasher.clone()));
//! passport.register("login", LocalStrategy::new(Mode::Login, users, hasher));
//! // POST /signup and POST /login with {"email": "...", "password": "..."} (JSON or a form)
//! let signup = passport.authenticate("signup").unwrap();
//! # let _ = signup;
//! ```
//!
//! # Tokens
//!
//! The [`jwt`] module mirrors passport-jwt: [`jwt::JwtConfig`] holds the key, issuer,
//! audience and lifetimes in one place; [`jwt::TokenIssuer`] signs tokens (each with its own
//! random `jti`),
//! [`jwt::JwtVerifier`] enforces an algorithm allow-list and required `exp`/`iss`/`aud`,
//! [`jwt::ExtractJwt`] finds tokens (query parameter, bearer header, any header, cookie, or
//! several), and [`jwt::JwtStrategy`] puts the three together behind a verify callback.
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
//!
//! # Sessions and refresh tokens
//!
//! The [`session`] module adds a lifecycle to tokens: [`session::Sessions`] starts a session
//! at login and rotates its opaque [`session::RefreshToken`] on every refresh, with reuse
//! detection (a used-up token presented after a grace revokes the session), over a
//! [`session::SessionStore`] (a shipped store, or yours). [`session::Liveness`] is the check
//! of a guarded request (session id → liveness cache → ticket → store), so revocation is
//! honoured without a database round trip per request; wrapped around the store of your
//! `Sessions`, it forgets a session from the cache the moment it is revoked.
//!
//! With the `jwt` feature the whole path is ready-made, with no verify callback to write:
//! `session::SessionTokens` issues the pair in one call (an access token with `sid` and a
//! fresh `jti`, and the refresh token, answered as `{"token", "token_type", "expires_in",
//! "refresh_token"}`), `Liveness::jwt_strategy` guards routes (a token without `sid`, or of a
//! revoked session, is a `401`), and `SessionTokens::refresh_route` and
//! `SessionTokens::logout_route` are the two handlers to mount:
//!
//! ```
//! # #[cfg(feature = "jwt")] {
//! use std::sync::Arc;
//! use actix_web::{test, web, App, HttpResponse};
//! use passport_actix::jwt::{ExtractJwt, JwtConfig};
//! use passport_actix::session::{Liveness, SessionTokens, Sessions};
//! use passport_actix::store::{MemoryStore, User};
//! use passport_actix::{Authenticated, Passport};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let store = MemoryStore::new(); // or `store::SqlStore` on PostgreSQL or SQLite
//! let ada = store.add_user("ada@example.com").unwrap();
//! let liveness = Liveness::new(Arc::new(store));
//! liveness.cache().trust_always(); // one process makes every change
//! let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
//! let tokens = SessionTokens::new(Sessions::new(Arc::new(liveness.clone())), config.issuer());
//!
//! let mut passport = Passport::<User>::new();
//! let bearer = ExtractJwt::from_auth_header_as_bearer_token();
//! passport.register("jwt", liveness.jwt_strategy(config.verifier(), bearer));
//! let guard = passport.authenticate("jwt").unwrap();
//! let app = test::init_service(App::new()
//!     .route("/token/refresh", tokens.refresh_route())
//!     .service(web::resource("/logout").wrap(guard.clone()).route(tokens.logout_route()))
//!     .service(web::resource("/notes").wrap(guard).to(
//!         |user: Authenticated<User>| async move { HttpResponse::Ok().body(user.email.clone()) },
//!     ))).await;
//!
//! let login = tokens.start(&ada.id.to_string()).await.unwrap(); // in your login handler
//! let bearer = format!("Bearer {}", login.access.token);
//! let with_token = |req: test::TestRequest| req.insert_header(("authorization", bearer.as_str())).to_request();
//! let notes = || test::TestRequest::get().uri("/notes");
//! assert_eq!(test::call_and_read_body(&app, with_token(notes())).await, "ada@example.com");
//! let logout = test::TestRequest::post().uri("/logout");
//! assert_eq!(test::call_service(&app, with_token(logout)).await.status(), 204);
//! assert_eq!(test::call_service(&app, with_token(notes())).await.status(), 401, "revoked at once");
//! # });
//! # }
//! ```
//!
//! # Shipped stores
//!
//! You need not write the stores: with the `postgres` or `sqlite` feature, `store::SqlStore`
//! implements the user store, the session store (token and cookie sessions) and a windowed
//! login throttle over sqlx, and `store::migrate` creates its tables; with `test-util`,
//! `store::MemoryStore` does the same in memory (the examples of these docs use it).
//! `examples/sessions.rs` is a whole API with signup, login, refresh and a logout that
//! revokes, on the SQLite store.
//!
//! # Browser sessions
//!
//! For a browser app, keep the credential where scripts cannot read it: an `HttpOnly` cookie.
//! [`session::Sessions::start_cookie`] starts a session named by a random cookie value (only
//! its digest is stored), [`session::SessionCookie`] writes the `Set-Cookie` of a login and a
//! logout with safe attributes (`HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` with the
//! `__Host-` name), and [`session::SessionStrategy`] is Passport's `session` strategy: register
//! it beside the JWT strategy (`authenticate(["jwt", "session"])`). Give it a
//! [`CrossOriginProtection`] (Go 1.25's `CrossOriginProtection`, OWASP's Fetch Metadata
//! defence: no CSRF tokens) so unsafe requests from other sites are refused with `403
//! cross_origin_request`. The example `examples/browser_app.rs` is a small server-rendered app.
//!
//! # Logging in with an OpenID provider
//!
//! With the `oidc` feature, `oidc::OidcStrategy` runs the authorization code flow with PKCE
//! against any OpenID Connect provider found by discovery (`oidc::OidcConfig`), verifies the
//! ID token against the provider's JWKS and hands its `oidc::OidcClaims` to your callback.
//!
//! # Second factors and step-up
//!
//! [`mfa`] holds what a second factor needs: [`mfa::Amr`] (RFC 8176 values, which
//! [`session::Sessions::start_with_amr`] stores with a session so every token of it carries
//! them), the RFC 9470 step-up guard `passport.authenticate("jwt")?.require_amr("otp")`
//! ([`Authenticator::require_amr`], for a user type that implements [`mfa::Assurance`]) and
//! [`mfa::require_amr`] for a check inside a handler, single-use [`mfa::RecoveryCode`]s, and
//! with the `totp` feature `mfa::Totp` (RFC 6238 codes that report the time step they matched,
//! so the application records it and never accepts a code twice). A
//! `local::UserStore::has_second_factor` answering `true` keeps a right password from clearing the
//! login throttle: only the completed second step does.
//!
//! # API keys
//!
//! [`api_key::ApiKeyStrategy`] is the built-in strategy for machine clients: a key from a
//! header or a query parameter, compared in constant time with every configured key (several
//! are fine: one per client, or a rotation), each authenticating as its own user. An empty key
//! is refused when the strategy is built ([`ConfigError::EmptyApiKey`]), so an unset variable
//! never opens the door to an empty header.
//!
//! # Reading other fields, comparing secrets, the clock
//!
//! [`read_fields`] reads named string fields from a JSON or urlencoded body with the same
//! strictness as the local strategy (for a refresh token, a new password, …),
//! [`constant_time_eq`] compares shared secrets without leaking timing, [`sha256_hex`] is the
//! digest stores keep of a secret, and [`clock`] is the one wall clock the crate reads.
//!
//! # Cargo features
//!
//! | feature | default | what it brings |
//! | --- | --- | --- |
//! | `jwt` | yes | [`jwt`]: the JWT strategy, token issuer and verifier (jsonwebtoken) |
//! | `local` | yes | [`local`]: signup/login with bcrypt on a [`BlockingPool`], the email check, the password policy and its 10,000-entry list |
//! | `argon2` | no | `local::Argon2id` and migration between password schemes (implies `local`) |
//! | `jwks` | no | `jwt::RemoteKeySet`: verify with an issuer's remote JWKS over http on loopback hosts (implies `jwt`) |
//! | `jwks-rustls` | no | `jwks` over HTTPS (rustls with the webpki roots) |
//! | `oidc` | no | `oidc::OidcStrategy`: "log in with an OpenID provider" (authorization code + PKCE, ID token checked against the provider's JWKS; implies `jwks`) |
//! | `totp` | no | `mfa::Totp`: TOTP codes for authenticator apps (RFC 6238, over `totp-rs`) |
//! | `postgres` | no | `store::SqlStore` on PostgreSQL (sqlx): users, sessions, the login throttle, with `store::migrate` (implies `local`) |
//! | `sqlite` | no | `store::SqlStore` on SQLite (sqlx, bundled SQLite), the same (implies `local`) |
//! | `test-util` | no | `store::MemoryStore`: the same stores in memory, for tests and examples (implies `local`) |
//!
//! A service that only verifies tokens needs `default-features = false, features = ["jwt"]`:
//! no bcrypt, no hashing pool, no password list.
//!
//! # The whole surface
//!
//! | where | what |
//! | --- | --- |
//! | crate root | [`Passport`] (the registry), [`Authenticate`] and [`strategy_fn`]/[`FnStrategy`] (strategies), [`AuthRequest`] (what a strategy sees, [`BodyError`], [`DEFAULT_BODY_LIMIT`], [`DEFAULT_BODY_READ_TIMEOUT`]), [`Outcome`], [`Failure`], [`FailureKind`], [`Info`], [`Redirect`], [`Challenge`] (what a strategy answers), [`Authenticator`]/[`AuthenticatorService`] (the guard), [`Authenticated`], [`MaybeAuthenticated`], [`ExtractError`] (extractors), [`Callback`] and [`StrategyNames`], [`FailureResponder`], [`JsonResponder`], [`ErrorBody`], [`failure_response`], [`error_response`] (responses), [`StrategyError`], [`ErrorKind`], [`StoreError`], [`HashError`], [`ConfigError`], [`BoxError`] (errors), [`read_fields`], [`constant_time_eq`], [`sha256_hex`], [`CrossOriginProtection`] and [`InvalidOrigin`], [`BlockingPool`] with its admission limit ([`Admission`], [`DEFAULT_ADMITTED_PER_THREAD`]) |
//! | [`api_key`] | `ApiKeyStrategy` |
//! | [`clock`] | `since_epoch`, `now_secs`, `now_ms`, `now_secs_f64` |
//! | [`jwt`] | `JwtConfig`, `TokenIssuer`, `IssuedToken`, `JwtVerifier`, `Claims`, `Audience`, `ExtractJwt`, `Extracted`, `JwtStrategy`, `SigningKey`, `VerifyingKey`, `KeySet`, `TokenError`, `IssueError`, `KeyError`; `RemoteKeySet` and `JwksError` with `jwks` |
//! | [`local`] | `LocalStrategy`, `Mode`, `UserStore`, `StoredCredentials`, `Created`, `LoginThrottle`, `Attempt`, `PasswordHasher`, `PasswordHash`, `Bcrypt`, `Migrating`, `PasswordPolicy`, `PolicyViolation`, `Credentials`, `FieldNames`, `normalize_email`, `NewPasswordError`; `Argon2id` and `Argon2idParams` with `argon2` |
//! | [`session`] | `Sessions`, `IssuedSession`, `RefreshError`, with `jwt`: `SessionTokens`, `TokenPair`, `TokenPairError`, `SessionClaims`; `SessionStore`, `NewSession`, `Rotation`, `TokenUse`, `Rotated`, `SessionRecord`, `RefreshToken`, `RefreshTokenHash`, `LivenessCache`, `Ticket`, `Liveness`, `SessionLoader`, `LoadedSession`, `DEFAULT_LIVENESS_MAX_AGE`; browsers: `SessionCookie`, `Presented`, `SessionStrategy`, `IssuedCookieSession`, `NewCookieSession`, `InvalidCookieName`, `DEFAULT_COOKIE_NAME`, `DEFAULT_SECURE_COOKIE_NAME` |
//! | `store` (features `postgres`, `sqlite`, `test-util`) | `SqlStore`, `Database`, `migrate`, `MemoryStore`, `User`, `NO_PASSWORD`, `account_key`, `DEFAULT_TIMEOUT`; an application's row in a refresh rotation's transaction: `RotationRecorder`, `RecordStatement`, `RecordValue`; for statements of your own on the same tables: `Sql`, `Id`, `RowsAffected`, `Lock`, `TokenSession`, `user_from_row`, `with_amr`, `stored_amr`, `classify`, `unique_violation`, `Unique`, `connection_lost`; `postgres::bounded_ping`, `sqlite::open` |
//! | `oidc` (feature `oidc`) | `OidcStrategy`, `OidcConfig`, `OidcClaims`, `OidcError`, `ProviderMetadata` |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without the `local` feature its items do not exist: their links in the docs above
// point to the feature table instead.
#![cfg_attr(
    not(feature = "local"),
    doc = "<!-- links to items of the local feature -->\n[`local`]: index.html#cargo-features\n[`local::LocalStrategy`]: index.html#cargo-features\n[`local::Mode::Signup`]: index.html#cargo-features\n[`local::Mode::Login`]: index.html#cargo-features\n[`local::UserStore`]: index.html#cargo-features\n[`local::Bcrypt`]: index.html#cargo-features\n[`BlockingPool`]: index.html#cargo-features\n[`Admission`]: index.html#cargo-features\n[`DEFAULT_ADMITTED_PER_THREAD`]: index.html#cargo-features\n[`local::PasswordPolicy`]: index.html#cargo-features\n[`local::LoginThrottle`]: index.html#cargo-features"
)]
// Without the `jwt` feature its items do not exist: their links in the docs above
// point to the feature table instead.
#![cfg_attr(
    not(feature = "jwt"),
    doc = "<!-- links to items of the jwt feature -->\n[`jwt`]: index.html#cargo-features\n[`jwt::JwtConfig`]: index.html#cargo-features\n[`jwt::TokenIssuer`]: index.html#cargo-features\n[`jwt::JwtVerifier`]: index.html#cargo-features\n[`jwt::ExtractJwt`]: index.html#cargo-features\n[`jwt::JwtStrategy`]: index.html#cargo-features\n[`jwt::JwtConfig::hmac`]: index.html#cargo-features\n[`jwt::JwtConfig::asymmetric`]: index.html#cargo-features\n[`jwt::SigningKey`]: index.html#cargo-features\n[`jwt::KeySet`]: index.html#cargo-features\n[`jwt::JwtConfig::jwks`]: index.html#cargo-features"
)]
#![warn(missing_docs)]

pub mod api_key;
#[cfg(feature = "local")]
mod blocking;
mod chain;
mod challenge;
pub mod clock;
mod cross_origin;
mod error;
mod extract;
mod fields;
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub mod jwt;
pub mod link;
#[cfg(feature = "local")]
#[cfg_attr(docsrs, doc(cfg(feature = "local")))]
pub mod local;
pub mod mfa;
mod middleware;
#[cfg(feature = "oidc")]
#[cfg_attr(docsrs, doc(cfg(feature = "oidc")))]
pub mod oidc;
mod opaque;
#[cfg(feature = "jwks")]
mod outbound;
mod outcome;
mod passport;
pub mod rate_limit;
mod request;
mod responder;
pub mod session;
#[cfg(any(feature = "postgres", feature = "sqlite", feature = "test-util"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "postgres", feature = "sqlite", feature = "test-util")))
)]
pub mod store;
mod strategy;

#[cfg(feature = "local")]
#[cfg_attr(docsrs, doc(cfg(feature = "local")))]
pub use blocking::{
    Admission, BlockingPool, DEFAULT_ADMITTED_PER_THREAD, DEFAULT_HASHING_NICE, MAX_HASHING_NICE,
    Priority,
};
pub use challenge::Challenge;
pub use cross_origin::{CrossOriginProtection, InvalidOrigin};
pub use error::{BoxError, ConfigError, ErrorKind, HashError, StoreError, StrategyError};
pub use extract::{Authenticated, ExtractError, MaybeAuthenticated};
pub use fields::read_fields;
pub use opaque::sha256_hex;

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
