//! The library's API-key strategy (`passport_actix::api_key::ApiKeyStrategy`), registered by
//! name and chained with `"jwt"` on one scope.
//!
//! ```sh
//! cargo run -p passport-actix --example api_key
//! ```
//!
//! With no setup it generates a development API key and JWT secret and prints ready-to-paste
//! `curl` commands: one with the key, one with a freshly signed token, one with neither (a 401
//! with both challenges). Set `API_KEY` and `JWT_SECRET` (at least 32 bytes) to choose them.
//!
//! Tokens must be HS256, issued by `api-key-example` for the audience `api-key-example`.
//! The functions here are reused by `tests/integration/api_key_example.rs`.

use actix_web::{App, HttpResponse, HttpServer, web};
use passport_actix::api_key::ApiKeyStrategy;
use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy};
use passport_actix::{Authenticated, ConfigError, Passport};
use serde::Serialize;

/// The issuer and audience of the tokens this example accepts.
pub(crate) const TOKEN_ISSUER: &str = "api-key-example";

/// The header that carries the API key.
pub(crate) const API_KEY_HEADER: &str = "x-api-key";

/// Who is calling: a user (from a JWT) or the holder of the API key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub(crate) enum Principal {
    /// A user, by the `sub` of their token.
    User(String),
    /// A machine client holding the API key.
    Service,
}

/// The library's API-key strategy: `api_key` in the `x-api-key` header authenticates as the
/// service. An empty key is refused here ([`ConfigError::EmptyApiKey`]).
pub(crate) fn api_key_strategy(api_key: &str) -> Result<ApiKeyStrategy<Principal>, ConfigError> {
    ApiKeyStrategy::header(API_KEY_HEADER, api_key, Principal::Service)
}

/// The JWT settings of this example for `secret`.
pub(crate) fn jwt_config(secret: &[u8]) -> Result<JwtConfig, ConfigError> {
    JwtConfig::hmac(secret, TOKEN_ISSUER, TOKEN_ISSUER)
}

/// A registry with `"jwt"` (bearer header) and `"api-key"`. A key the strategy refuses (empty)
/// leaves `"api-key"` unregistered, so [`configure`] fails at start-up; `main` checks the key
/// first to say why.
pub(crate) fn passport(jwt: &JwtConfig, api_key: &str) -> Passport<Principal> {
    let mut passport = Passport::new();
    passport.register(
        "jwt",
        JwtStrategy::new(
            jwt.verifier(),
            ExtractJwt::from_auth_header_as_bearer_token(),
            |claims: Claims<()>| async move { Ok(Some(Principal::User(claims.sub))) },
        ),
    );
    if let Ok(strategy) = api_key_strategy(api_key) {
        passport.register("api-key", strategy);
    }
    passport
}

/// `GET /user/me`: who is calling, and how they authenticated.
async fn me(principal: Authenticated<Principal>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "principal": principal.user(),
        "via": principal.info().strategy(),
    }))
}

/// Adds the `/user` scope, guarded by `jwt` then `api-key`, to an app.
pub(crate) fn configure(
    passport: &Passport<Principal>,
) -> Result<impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static, ConfigError> {
    let guard = passport.authenticate(["jwt", "api-key"])?;
    Ok(move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope("/user")
                .wrap(guard.clone())
                .route("/me", web::get().to(me)),
        );
    })
}

/// The variable's value, or a random development value (announced, never a secret you chose).
fn env_or_generated(name: &str) -> String {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value,
        _ => {
            let value = passport_actix::session::RefreshToken::generate()
                .as_str()
                .to_owned();
            println!("{name} is not set: using a random development value for this run");
            value
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let api_key = env_or_generated("API_KEY");
    api_key_strategy(&api_key).map_err(std::io::Error::other)?;
    let jwt_secret = env_or_generated("JWT_SECRET");
    let jwt = jwt_config(jwt_secret.as_bytes()).map_err(std::io::Error::other)?;
    let token = jwt
        .issuer()
        .issue("ada", ())
        .map_err(std::io::Error::other)?
        .token;
    let routes = configure(&passport(&jwt, &api_key)).map_err(std::io::Error::other)?;

    println!("listening on http://127.0.0.1:8080 — try:");
    println!("  curl -H '{API_KEY_HEADER}: {api_key}' http://127.0.0.1:8080/user/me");
    println!("  curl -H 'authorization: Bearer {token}' http://127.0.0.1:8080/user/me");
    println!("  curl -i http://127.0.0.1:8080/user/me   # 401 with both challenges");
    HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(2)
        .bind(("127.0.0.1", 8080))?
        .run()
        .await
}
