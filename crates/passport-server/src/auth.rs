//! Wiring the strategies: which ones exist, under which names, over which store.
//! The authentication logic itself lives in `passport-actix`.

use std::sync::Arc;

use passport_actix::jwt::{Claims, ExtractJwt, JwtStrategy, TokenIssuer};
use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
use passport_actix::{Callback, Passport};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::configuration::Settings;
use crate::store::{Store, User};

/// The application's own token claims, beside `sub`, `iss`, `aud`, `iat` and `exp`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The user's email when the token was issued.
    pub email: String,
}

/// The query parameter the seed's clients send the token in.
pub const TOKEN_QUERY_PARAMETER: &str = "secret_token";

/// Everything the routes need from authentication.
#[derive(Clone)]
pub struct Auth {
    /// The registry: `"signup"`, `"login"`, `"jwt"` (and `"jwt-stateless"` for benchmarks).
    pub passport: Passport<User>,
    /// `"login"` as a custom callback (the login route signs a token on success).
    pub login: Callback<User>,
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// The body of `/.well-known/jwks.json`: every accepted public key.
    pub jwks: String,
}

/// Registers the strategies.
pub fn build(settings: &Settings, store: Store) -> anyhow::Result<Auth> {
    let jwt = crate::keys::jwt_config(settings)?;
    let hasher = Arc::new(Bcrypt::new(settings.bcrypt_cost)?);
    let store = Arc::new(store);
    let tokens = || {
        ExtractJwt::from_extractors([
            ExtractJwt::from_auth_header_as_bearer_token(),
            ExtractJwt::from_url_query_parameter(TOKEN_QUERY_PARAMETER),
        ])
    };

    let mut passport = Passport::new();
    passport.register(
        "signup",
        LocalStrategy::new(Mode::Signup, Arc::clone(&store), hasher.clone()),
    );
    passport.register(
        "login",
        LocalStrategy::new(Mode::Login, Arc::clone(&store), hasher).throttle(store.clone()),
    );
    let users = Arc::clone(&store);
    passport.register(
        "jwt",
        JwtStrategy::new(
            jwt.verifier(),
            tokens(),
            move |claims: Claims<TokenClaims>| {
                let users = Arc::clone(&users);
                async move {
                    match Uuid::parse_str(&claims.sub) {
                        Ok(id) => users.user_by_id(id).await,
                        Err(_) => Ok(None),
                    }
                }
            },
        ),
    );
    // Trusts the token alone, with no database look-up: only for the benchmark routes.
    passport.register(
        "jwt-stateless",
        JwtStrategy::new(
            jwt.verifier(),
            tokens(),
            |claims: Claims<TokenClaims>| async move {
                Ok(Uuid::parse_str(&claims.sub).ok().map(|id| User {
                    id,
                    email: claims.custom.email,
                }))
            },
        ),
    );
    let login = passport.callback("login")?;
    Ok(Auth {
        passport,
        login,
        issuer: jwt.issuer(),
        jwks: jwt.jwks().to_string(),
    })
}
