//! Verifying tokens against an algorithm allow-list and the registered claims.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::jwt::claims::Claims;
use crate::jwt::error::TokenError;

/// The default bound on a token's size: 8 KiB. Ours are about 300 bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The default longest lifetime (`exp - iat`) a token may claim: 24 hours.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Checks a compact JWS as RFC 8725 asks: size bound first, then the algorithm allow-list
/// (never `none`), the signature, required `exp`, `iss`, `aud`, `sub` and `iat`, `nbf` when
/// present, `iat` not in the future, and no `crit` or key-selecting header (`jku`, `jwk`, `x5u`, `x5c`,
/// `kid`): no key is ever fetched or chosen by the token.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
    leeway: u64,
    max_token_bytes: usize,
    max_lifetime: u64,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("leeway", &self.leeway)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub(crate) fn new(
        key: DecodingKey,
        algorithm: Algorithm,
        issuer: &str,
        audience: &str,
        leeway: Duration,
        max_token_bytes: usize,
    ) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = leeway.as_secs();
        Self {
            key,
            validation,
            leeway: leeway.as_secs(),
            max_token_bytes,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME.as_secs(),
        }
    }

    /// Sets the longest lifetime (`exp - iat`) a token may claim (default 24 h): a token
    /// signed to live for a year, even with the right key, is refused.
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime.as_secs();
        self
    }

    /// Verifies `token` and returns its claims.
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Claims<C>, TokenError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenError::TooLarge(self.max_token_bytes));
        }
        if token.bytes().filter(|b| *b == b'.').count() != 2 {
            return Err(TokenError::Malformed);
        }
        // The happy path decodes once, straight into the typed claims; only a failure pays for
        // finding out exactly what was wrong.
        let data = jsonwebtoken::decode::<Claims<C>>(token, &self.key, &self.validation)
            .map_err(|e| self.explain(token, e.into_kind()))?;
        refuse_unsupported_headers(&data.header)?;
        let claims = data.claims;
        let now = jsonwebtoken::get_current_timestamp();
        if claims.iat > now + self.leeway {
            return Err(TokenError::IssuedInFuture);
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime {
            return Err(TokenError::LifetimeTooLong);
        }
        Ok(claims)
    }

    /// Re-checks the time-bound claims (`exp`, `nbf`) of claims verified earlier, with the
    /// same leeway as [`verify`](Self::verify).
    pub fn check_lifetime<C>(&self, claims: &Claims<C>) -> Result<(), TokenError> {
        let now = jsonwebtoken::get_current_timestamp();
        if claims.exp.saturating_add(self.leeway) < now {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(self.leeway))
        {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }
}

impl JwtVerifier {
    /// Names the real reason a token was refused.
    fn explain(&self, token: &str, kind: ErrorKind) -> TokenError {
        match kind {
            ErrorKind::MissingRequiredClaim(claim) => missing_or_malformed(token, claim),
            ErrorKind::Json(_) => {
                // `jsonwebtoken` cannot even parse a header whose `alg` it does not know
                // (`none`, `None`, ...), which would make such a token merely "malformed".
                if let Some(alg) = header_algorithm(token) {
                    match alg.parse::<Algorithm>() {
                        Ok(alg) if self.validation.algorithms.contains(&alg) => {}
                        _ => return TokenError::AlgorithmNotAllowed,
                    }
                }
                // The typed claims did not deserialize: decoding into a `Value` runs the
                // required-claim check first and tells a missing claim from a mistyped one.
                match jsonwebtoken::decode::<Value>(token, &self.key, &self.validation) {
                    Err(e) => match e.into_kind() {
                        ErrorKind::MissingRequiredClaim(claim) => {
                            missing_or_malformed(token, claim)
                        }
                        kind => map_error(kind),
                    },
                    Ok(data) => match data.claims.get("iat") {
                        None | Some(Value::Null) => TokenError::MissingClaim("iat".to_owned()),
                        Some(_) => TokenError::Malformed,
                    },
                }
            }
            kind => map_error(kind),
        }
    }
}

/// The `alg` named by the token's header, if the header is base64url JSON with a string `alg`.
fn header_algorithm(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get("alg")?.as_str().map(str::to_owned)
}

/// `jsonwebtoken` reports a required claim of the wrong type as missing; tell the two apart.
/// Only called after the signature verified, so reading the payload unverified is safe.
fn missing_or_malformed(token: &str, claim: String) -> TokenError {
    let present = jsonwebtoken::dangerous::insecure_decode_claims::<Value>(token)
        .ok()
        .and_then(|claims| claims.get(&claim).map(|value| !value.is_null()))
        .unwrap_or(false);
    if present {
        TokenError::Malformed
    } else {
        TokenError::MissingClaim(claim)
    }
}

fn refuse_unsupported_headers(header: &Header) -> Result<(), TokenError> {
    let refused = [
        ("crit", header.crit.is_some()),
        ("jku", header.jku.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5u", header.x5u.is_some()),
        ("x5c", header.x5c.is_some()),
        ("kid", header.kid.is_some()),
    ];
    match refused.into_iter().find(|(_, present)| *present) {
        Some((name, _)) => Err(TokenError::UnsupportedHeader(name)),
        None if header.extras.inner().contains_key("crit") => {
            Err(TokenError::UnsupportedHeader("crit"))
        }
        None => Ok(()),
    }
}

fn map_error(kind: ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::InvalidSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => TokenError::AlgorithmNotAllowed,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim),
        _ => TokenError::Malformed,
    }
}
