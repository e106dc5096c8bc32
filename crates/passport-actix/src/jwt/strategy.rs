//! `JwtStrategy`: passport-jwt's strategy.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::jwt::cache::{DEFAULT_VERIFIED_TOKEN_CACHE, VerifiedTokens};
use crate::jwt::claims::Claims;
use crate::jwt::error::TokenError;
use crate::jwt::extract::{ExtractJwt, Extracted};
use crate::jwt::verifier::JwtVerifier;
use crate::outcome::{Info, Outcome};
use crate::request::AuthRequest;
use crate::strategy::Authenticate;

/// Reads a token's session id from its claims (`None`: it names none).
type SessionClaim<C> = fn(&Claims<C>) -> Option<String>;

/// Authenticates a request by a JWT (mirrors passport-jwt).
///
/// The token is found by an [`ExtractJwt`], checked by a [`JwtVerifier`], and its claims are
/// handed to the verify callback — an async closure that may borrow what it captured, so a
/// shared store needs no `Arc::clone` per call — which returns the user (`Ok(None)` for a subject that no
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
/// let banned = vec!["mallory".to_owned()];
/// let jwt = JwtStrategy::new(
///     config.verifier(),
///     ExtractJwt::from_auth_header_as_bearer_token(),
///     // Borrows `banned` on every call; `Ok(None)` refuses the token (401).
///     async move |claims: Claims<()>| Ok((!banned.contains(&claims.sub)).then_some(claims.sub)),
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
    verified: Option<VerifiedTokens<C>>,
    /// Reads the session id from the claims: set, a token without one is refused and the
    /// success's [`Info`] names the session.
    session_claim: Option<SessionClaim<C>>,
    _types: PhantomData<fn(C) -> U>,
}

impl<C, U, F> JwtStrategy<C, U, F>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    U: 'static,
    F: AsyncFn(Claims<C>) -> Result<Option<U>, StoreError> + Send + Sync + 'static,
{
    /// A strategy that verifies with `verifier`, finds tokens with `extractor` and maps
    /// claims to a user with `verify`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let jwt = JwtStrategy::new(
    ///     config.verifier(),
    ///     ExtractJwt::from_auth_header_as_bearer_token(),
    ///     async |claims: Claims<()>| Ok(Some(claims.sub)),
    /// );
    /// # let _: JwtStrategy<(), String, _> = jwt;
    /// ```
    pub fn new(verifier: JwtVerifier, extractor: ExtractJwt, verify: F) -> Self {
        Self {
            verifier: Arc::new(verifier),
            extractor,
            verify,
            realm: "api".to_owned(),
            first_token_wins: false,
            verified: Some(VerifiedTokens::new(DEFAULT_VERIFIED_TOKEN_CACHE)),
            session_claim: None,
            _types: PhantomData,
        }
    }

    /// Requires a session id in every token, read by `claim` (`None`: absent): a token
    /// without one is refused (`401 token_claim_missing`) before the verify callback runs,
    /// and a success's [`Info::session_id`] names the session.
    pub(crate) fn session_claim(mut self, claim: SessionClaim<C>) -> Self {
        self.session_claim = Some(claim);
        self
    }

    /// Sets the `realm` of the `Bearer` challenge (quotes and backslashes are dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy};
    /// use passport_actix::{AuthRequest, Authenticate, Outcome};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let jwt = JwtStrategy::new(
    ///     config.verifier(),
    ///     ExtractJwt::from_auth_header_as_bearer_token(),
    ///     async |claims: Claims<()>| Ok(Some(claims.sub)),
    /// ).realm("billing");
    /// # actix_web::rt::System::new().block_on(async {
    /// let req = AuthRequest::with_body(TestRequest::get().to_http_request(), "".into());
    /// let Outcome::Fail(failure) = jwt.authenticate(&req).await else { panic!("no token, no user") };
    /// assert_eq!(failure.challenge().unwrap().to_string(), r#"Bearer realm="billing""#);
    /// # });
    /// ```
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        self
    }

    /// Remembers up to `capacity` verified tokens (default
    /// [`DEFAULT_VERIFIED_TOKEN_CACHE`]), so that a token sent again skips the signature check
    /// and JSON parsing; its `exp` and `nbf` are still checked every time and the verify
    /// callback still runs. `0` turns the cache off.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let jwt = JwtStrategy::new(
    ///     config.verifier(),
    ///     ExtractJwt::from_auth_header_as_bearer_token(),
    ///     async |claims: Claims<()>| Ok(Some(claims.sub)),
    /// ).verified_token_cache(0); // verify every token in full, every time
    /// # let _: JwtStrategy<(), String, _> = jwt;
    /// ```
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.verified = (capacity > 0).then(|| VerifiedTokens::new(capacity));
        self
    }

    /// Verifies `token` with the keys at hand, refreshing a remote key set first when it is
    /// stale, and once more (within its cooldown) when the token's `kid` is unknown.
    async fn claims(&self, token: &str) -> Result<Claims<C>, TokenError> {
        #[cfg(feature = "jwks")]
        if let Some(remote) = self.verifier.remote() {
            remote.refresh_if_stale().await;
            return match self.cached_claims(token) {
                Err(TokenError::UnknownKey) if remote.refresh_for_unknown_kid().await => {
                    self.cached_claims(token)
                }
                other => other,
            };
        }
        self.cached_claims(token)
    }

    /// Verifies `token`, or re-checks the lifetime of a token verified before.
    fn cached_claims(&self, token: &str) -> Result<Claims<C>, TokenError> {
        let Some(verified) = &self.verified else {
            return self.verifier.verify::<C>(token);
        };
        if let Some(cached) = verified.get(token) {
            return match self.verifier.check_lifetime(&cached) {
                Ok(()) => Ok(Claims::clone(&cached)),
                Err(error) => {
                    verified.remove(token);
                    Err(error)
                }
            };
        }
        let claims = self.verifier.verify::<C>(token)?;
        verified.insert(token, &claims);
        Ok(claims)
    }

    /// Uses the first token found instead of refusing requests that carry several.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{Claims, ExtractJwt, JwtConfig, JwtStrategy};
    /// use passport_actix::{AuthRequest, Authenticate, Outcome};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let token = config.issuer().issue("ada", ()).unwrap().token;
    /// let jwt = JwtStrategy::new(
    ///     config.verifier(),
    ///     ExtractJwt::from_extractors([
    ///         ExtractJwt::from_auth_header_as_bearer_token(),
    ///         ExtractJwt::from_url_query_parameter("token"),
    ///     ]),
    ///     async |claims: Claims<()>| Ok(Some(claims.sub)),
    /// ).first_token_wins();
    /// # actix_web::rt::System::new().block_on(async {
    /// let http = TestRequest::get().uri("/?token=stale")
    ///     .insert_header(("authorization", format!("Bearer {token}"))).to_http_request();
    /// let req = AuthRequest::with_body(http, "".into());
    /// assert!(matches!(jwt.authenticate(&req).await, Outcome::Success { user, .. } if user == "ada"));
    /// # });
    /// ```
    pub fn first_token_wins(mut self) -> Self {
        self.first_token_wins = true;
        self
    }

    fn fail(&self, error: TokenError) -> Outcome<U> {
        Outcome::Fail(error.into_failure(&self.realm))
    }
}

impl<C, U, F> Authenticate<U> for JwtStrategy<C, U, F>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    U: 'static,
    F: AsyncFn(Claims<C>) -> Result<Option<U>, StoreError> + Send + Sync + 'static,
{
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        let token = match self.extractor.extract(req.http()) {
            Extracted::None => return self.fail(TokenError::Missing),
            Extracted::One(token) => token,
            Extracted::Many(mut tokens) if self.first_token_wins => tokens.swap_remove(0),
            Extracted::Many(_) => return self.fail(TokenError::Multiple),
        };
        let claims = match self.claims(&token).await {
            Ok(claims) => claims,
            Err(error) => return self.fail(error),
        };
        // With a session claim, the success names the session and its subject (for logouts).
        let session = match self.session_claim.map(|read| read(&claims)) {
            None => None,
            Some(Some(session_id)) => Some((session_id, claims.sub.clone())),
            Some(None) => return self.fail(TokenError::MissingClaim("sid".to_owned())),
        };
        match (self.verify)(claims).await {
            Ok(Some(user)) => {
                let info = Info::with_message("Token accepted").token(token);
                Outcome::Success {
                    user,
                    info: match session {
                        Some((session_id, subject)) => info.session(session_id).subject(subject),
                        None => info,
                    },
                }
            }
            Ok(None) => self.fail(TokenError::UnknownSubject),
            Err(error) => Outcome::Error(error.into_strategy_error("loading the token's user")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use actix_web::test::TestRequest;

    use super::*;
    use crate::jwt::JwtConfig;

    fn strategy(config: &JwtConfig, cache: usize) -> impl Authenticate<String> {
        JwtStrategy::new(
            config.verifier(),
            ExtractJwt::from_auth_header_as_bearer_token(),
            |claims: Claims<()>| async move { Ok(Some(claims.sub)) },
        )
        .verified_token_cache(cache)
    }

    async fn run(strategy: &impl Authenticate<String>, token: &str) -> Outcome<String> {
        let http = TestRequest::get()
            .insert_header(("authorization", format!("Bearer {token}")))
            .to_http_request();
        strategy
            .authenticate(&AuthRequest::with_body(http, Default::default()))
            .await
    }

    fn code(outcome: Outcome<String>) -> String {
        match outcome {
            Outcome::Fail(failure) => failure.code().to_owned(),
            Outcome::Success { user, .. } => format!("success:{user}"),
            other => format!("{other:?}"),
        }
    }

    #[actix_rt::test]
    async fn a_cached_token_is_still_refused_once_it_expires() {
        let config = JwtConfig::hmac([7u8; 32], "iss", "aud")
            .unwrap()
            .ttl(Duration::from_secs(1))
            .leeway(Duration::ZERO);
        for cache in [DEFAULT_VERIFIED_TOKEN_CACHE, 0] {
            let strategy = strategy(&config, cache);
            let token = config.issuer().issue("ada", ()).unwrap().token;
            assert_eq!(code(run(&strategy, &token).await), "success:ada");
            assert_eq!(
                code(run(&strategy, &token).await),
                "success:ada",
                "served again"
            );
            tokio::time::sleep(Duration::from_millis(2100)).await;
            assert_eq!(
                code(run(&strategy, &token).await),
                "token_expired",
                "cache {cache}"
            );
        }
    }

    #[actix_rt::test]
    async fn a_tampered_copy_of_a_cached_token_is_refused() {
        let config = JwtConfig::hmac([7u8; 32], "iss", "aud").unwrap();
        let strategy = strategy(&config, DEFAULT_VERIFIED_TOKEN_CACHE);
        let token = config.issuer().issue("ada", ()).unwrap().token;
        assert_eq!(code(run(&strategy, &token).await), "success:ada");
        // Flip one character in the middle of the signature.
        let at = token.rfind('.').unwrap() + 10;
        let flipped = if &token[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &token[..at], &token[at + 1..]);
        assert_eq!(
            code(run(&strategy, &tampered).await),
            "token_signature_invalid"
        );
        assert_eq!(code(run(&strategy, &token).await), "success:ada");
    }
}
