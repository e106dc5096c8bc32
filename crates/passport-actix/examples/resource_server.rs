//! A resource server: a separate actix app that accepts the auth server's tokens knowing only
//! its JWKS URL. It never sees a secret or a private key, and follows key rotations on its own
//! (an unknown `kid` makes it refetch the JWKS, at most once per cooldown).
//!
//! ```sh
//! # the auth server, signing with an Ed25519 key
//! passport-server keygen --alg EdDSA --out jwt-key.pem
//! JWT_ALGORITHM=EdDSA JWT_PRIVATE_KEY_FILE=jwt-key.pem cargo run -p passport-server
//! # this resource server
//! JWKS_URL=http://127.0.0.1:3000/.well-known/jwks.json \
//!     cargo run -p passport-actix --features jwks --example resource_server
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:4000/api/whoami
//! ```
//!
//! Settings (environment): `JWKS_URL` (https, or http on loopback), `JWT_ISSUER`
//! (`passport-server`), `JWT_AUDIENCE` (`passport-api`), `BIND_ADDR` (`127.0.0.1:4000`).
//! The functions here are reused by the end-to-end test `tests/api/resource_server.rs`, which
//! runs this app against the real auth server, across a key rotation.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use passport_actix::jwt::{Claims, ExtractJwt, JwtStrategy, JwtVerifier, RemoteKeySet};
use passport_actix::{Authenticated, Passport};
use serde::{Deserialize, Serialize};

/// Any error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who called: what the token says, nothing more (this server has no user database).
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// The token's subject (the user id on the auth server).
    pub sub: String,
    /// The email claim, if the token carries one.
    pub email: Option<String>,
}

/// The auth server's own claims this app reads.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthClaims {
    /// The user's email when the token was issued.
    #[serde(default)]
    pub email: Option<String>,
}

/// The registry: a `"jwt"` strategy verifying with the remote key set.
pub fn passport(keys: RemoteKeySet, issuer: &str, audience: &str) -> Passport<Caller> {
    let mut passport = Passport::new();
    passport.register(
        "jwt",
        JwtStrategy::new(
            JwtVerifier::with_remote_key_set(keys, issuer, audience),
            ExtractJwt::from_auth_header_as_bearer_token(),
            |claims: Claims<AuthClaims>| async move {
                Ok(Some(Caller {
                    sub: claims.sub,
                    email: claims.custom.email,
                }))
            },
        ),
    );
    passport
}

/// `GET /api/whoami` guarded by `passport.authenticate("jwt")`, served on `listener`.
pub fn server(listener: TcpListener, passport: &Passport<Caller>) -> Result<Server, BoxError> {
    let guard = passport.authenticate("jwt")?;
    let server = HttpServer::new(move || {
        App::new().service(
            web::scope("/api")
                .wrap(guard.clone())
                .route("/whoami", web::get().to(whoami)),
        )
    })
    .listen(listener)?
    .run();
    Ok(server)
}

async fn whoami(caller: Authenticated<Caller>) -> HttpResponse {
    HttpResponse::Ok().json(caller.user())
}

#[allow(dead_code)]
#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let keys = RemoteKeySet::new(&var(
        "JWKS_URL",
        "http://127.0.0.1:3000/.well-known/jwks.json",
    ))?;
    // Fail fast when the auth server is unreachable at start; later failures keep the keys.
    if let Err(error) = keys.refresh().await {
        eprintln!("resource_server: warning: {error} (will retry when a token arrives)");
    }
    let passport = passport(
        keys,
        &var("JWT_ISSUER", "passport-server"),
        &var("JWT_AUDIENCE", "passport-api"),
    );
    let listener = TcpListener::bind(var("BIND_ADDR", "127.0.0.1:4000"))?;
    eprintln!(
        "resource_server listening on http://{}",
        listener.local_addr()?
    );
    server(listener, &passport)?.await?;
    Ok(())
}
