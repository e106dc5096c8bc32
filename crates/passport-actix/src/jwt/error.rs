//! Why a token was refused, with its RFC 6750 mapping.

use actix_web::http::StatusCode;
use thiserror::Error;

use crate::challenge::Challenge;
use crate::outcome::{Failure, FailureKind};

/// Why a token could not be used. Each variant has its own machine code; all but
/// [`Missing`](Self::Missing) and [`Multiple`](Self::Multiple) are RFC 6750 `invalid_token`.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{JwtConfig, TokenError};
///
/// let verifier = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap().verifier();
/// let error = verifier.verify::<()>("not.a.token").unwrap_err();
/// assert_eq!(error, TokenError::Malformed);
/// assert_eq!(error.code(), "token_malformed");
/// let failure = error.into_failure("api");
/// assert_eq!(failure.status(), 401);
/// assert_eq!(
///     failure.challenge().unwrap().to_string(),
///     r#"Bearer realm="api", error="invalid_token", error_description="the token is malformed""#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The request carries no token.
    #[error("no token was provided")]
    Missing,
    /// The request carries more than one token (RFC 6750 §2: `invalid_request`).
    #[error("the request carries more than one token")]
    Multiple,
    /// The token is larger than the configured bound.
    #[error("the token is larger than {0} bytes")]
    TooLarge(usize),
    /// Not three base64url segments of JSON, or claims of the wrong type.
    #[error("the token is malformed")]
    Malformed,
    /// The signature does not verify with the configured key.
    #[error("the token signature is invalid")]
    InvalidSignature,
    /// The header names an algorithm outside the allow-list (including `none`).
    #[error("the token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header has a field this verifier refuses (`crit`, `jku`, `jwk`, `x5u`, `x5c`, `kid`).
    #[error("the token header field {0} is not supported")]
    UnsupportedHeader(&'static str),
    /// The key set is asymmetric and the token header has no `kid`.
    #[error("the token has no key id")]
    MissingKeyId,
    /// The token's `kid` names no key of the key set.
    #[error("the token key id is unknown")]
    UnknownKey,
    /// `exp` has passed (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("the token was issued in the future")]
    IssuedInFuture,
    /// `exp - iat` is longer than the verifier accepts.
    #[error("the token lifetime is longer than accepted")]
    LifetimeTooLong,
    /// `iss` is not the configured issuer.
    #[error("the token issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not contain the configured audience.
    #[error("the token audience is not accepted")]
    WrongAudience,
    /// A required claim is missing.
    #[error("the token lacks the required claim {0}")]
    MissingClaim(String),
    /// The token is valid but the verify callback found no user for it: a deleted user, or
    /// (with sessions) a revoked or ended session.
    #[error("the token has been revoked or its user no longer exists")]
    UnknownSubject,
}

impl TokenError {
    /// The machine code sent in the JSON body.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::TokenError;
    ///
    /// assert_eq!(TokenError::Expired.code(), "token_expired");
    /// assert_eq!(TokenError::Missing.code(), "token_missing");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "token_missing",
            Self::Multiple => "invalid_request",
            Self::TooLarge(_) | Self::Malformed | Self::UnsupportedHeader(_) => "token_malformed",
            Self::InvalidSignature => "token_signature_invalid",
            Self::MissingKeyId | Self::UnknownKey => "token_key_unknown",
            Self::AlgorithmNotAllowed => "token_algorithm_invalid",
            Self::Expired => "token_expired",
            Self::LifetimeTooLong => "token_lifetime_too_long",
            Self::NotYetValid | Self::IssuedInFuture => "token_not_yet_valid",
            Self::WrongIssuer => "token_issuer_invalid",
            Self::WrongAudience => "token_audience_invalid",
            Self::MissingClaim(_) => "token_claim_missing",
            Self::UnknownSubject => "token_subject_unknown",
        }
    }

    /// The failure for this error, with its `Bearer` challenge (RFC 6750 §3).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::FailureKind;
    /// use passport_actix::jwt::TokenError;
    ///
    /// let failure = TokenError::Missing.into_failure("api");
    /// assert_eq!(failure.kind(), FailureKind::MissingCredentials);
    /// assert_eq!(failure.challenge().unwrap().to_string(), r#"Bearer realm="api""#);
    /// assert_eq!(TokenError::Multiple.into_failure("api").status(), 400);
    /// ```
    pub fn into_failure(self, realm: &str) -> Failure {
        let description = self.to_string();
        match self {
            Self::Missing => Failure::unauthorized(
                self.code(),
                "A bearer token is required (Authorization: Bearer <token>)",
            )
            .with_kind(FailureKind::MissingCredentials)
            .with_challenge(Challenge::bearer(realm)),
            Self::Multiple => Failure::new(
                StatusCode::BAD_REQUEST,
                self.code(),
                "Send exactly one token: in the Authorization header or the query string, once",
            )
            .with_kind(FailureKind::InvalidRequest)
            .with_challenge(
                Challenge::bearer(realm)
                    .error("invalid_request")
                    .description(description),
            ),
            _ => Failure::unauthorized(self.code(), capitalize(&description)).with_challenge(
                Challenge::bearer(realm)
                    .error("invalid_token")
                    .description(description),
            ),
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A token could not be signed.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{IssueError, JwtConfig};
///
/// /// Custom claims that cannot be written as JSON.
/// struct Unwritable;
/// impl serde::Serialize for Unwritable {
///     fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
///         Err(serde::ser::Error::custom("no JSON for this"))
///     }
/// }
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
/// let error: IssueError = config.issuer().issue("ada", Unwritable).unwrap_err();
/// assert_eq!(error.to_string(), "the token could not be signed");
/// ```
#[derive(Debug, Error)]
#[error("the token could not be signed")]
pub struct IssueError(#[source] pub(crate) jsonwebtoken::errors::Error);
