//! `JwtStrategy`: passport-jwt's strategy.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::jwt::claims::Claims;
use crate::jwt::error::TokenError;
use crate::jwt::extract::{ExtractJwt, Extracted};
use crate::jwt::verifier::JwtVerifier;
use crate::outcome::{Info, Outcome};
use crate::request::AuthRequest;
use crate::strategy::Authenticate;

/// Authenticates a request by a JWT (mirrors passport-jwt).
///
/// The token is found by an [`ExtractJwt`], checked by a [`JwtVerifier`], and its claims are
/// handed to the verify callback, which returns the user (`Ok(None)` for a subject that no
/// longer exists, answered `401 invalid_token`). A request that carries more than one token
/// is refused with `400 invalid_request` (RFC 6750 §2) unless
/// [`first_token_wins`](Self::first_token_wins) is set. Failures carry a
/// `WWW-Authenticate: Bearer` challenge with the RFC 6750 error code.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{ExtractJwt, JwtConfig, JwtStrategy, Claims};
/// use passport_actix::Passport;
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "iss", "aud").unwrap();
/// let jwt = JwtStrategy::new(
///     config.verifier(),
///     ExtractJwt::from_auth_header_as_bearer_token(),
///     |claims: Claims<()>| async move { Ok(Some(claims.sub)) },
/// );
/// let mut passport = Passport::<String>::new();
/// passport.register("jwt", jwt);
/// ```
pub struct JwtStrategy<C, U, F> {
    verifier: Arc<JwtVerifier>,
    extractor: ExtractJwt,
    verify: F,
    realm: String,
    first_token_wins: bool,
    _types: PhantomData<fn(C) -> U>,
}

impl<C, U, F, Fut> JwtStrategy<C, U, F>
where
    C: DeserializeOwned + 'static,
    U: 'static,
    F: Fn(Claims<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<U>, StoreError>> + 'static,
{
    /// A strategy that verifies with `verifier`, finds tokens with `extractor` and maps
    /// claims to a user with `verify`.
    pub fn new(verifier: JwtVerifier, extractor: ExtractJwt, verify: F) -> Self {
        Self {
            verifier: Arc::new(verifier),
            extractor,
            verify,
            realm: "api".to_owned(),
            first_token_wins: false,
            _types: PhantomData,
        }
    }

    /// Sets the `realm` of the `Bearer` challenge (quotes and backslashes are dropped).
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        self
    }

    /// Uses the first token found instead of refusing requests that carry several.
    pub fn first_token_wins(mut self) -> Self {
        self.first_token_wins = true;
        self
    }

    fn fail(&self, error: TokenError) -> Outcome<U> {
        Outcome::Fail(error.into_failure(&self.realm))
    }
}

#[async_trait(?Send)]
impl<C, U, F, Fut> Authenticate<U> for JwtStrategy<C, U, F>
where
    C: DeserializeOwned + 'static,
    U: 'static,
    F: Fn(Claims<C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<U>, StoreError>> + 'static,
{
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        let token = match self.extractor.extract(req.http()) {
            Extracted::None => return self.fail(TokenError::Missing),
            Extracted::One(token) => token,
            Extracted::Many(mut tokens) if self.first_token_wins => tokens.swap_remove(0),
            Extracted::Many(_) => return self.fail(TokenError::Multiple),
        };
        let claims = match self.verifier.verify::<C>(&token) {
            Ok(claims) => claims,
            Err(error) => return self.fail(error),
        };
        match (self.verify)(claims).await {
            Ok(Some(user)) => Outcome::Success {
                user,
                info: Info::with_message("Token accepted").token(token),
            },
            Ok(None) => self.fail(TokenError::UnknownSubject),
            Err(error) => Outcome::Error(error.into_strategy_error("loading the token's user")),
        }
    }
}
