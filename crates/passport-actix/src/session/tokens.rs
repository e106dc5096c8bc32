//! [`SessionTokens`]: a session's access token (with `sid` and `jti`) and refresh token,
//! issued together in one call at login and at every refresh.

use std::fmt;

use actix_web::body::BoxBody;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::error::{StoreError, StrategyError};
use crate::jwt::{IssueError, IssuedToken, TokenIssuer};
use crate::outcome::Failure;
use crate::responder::{error_response, failure_response};
use crate::session::manager::{IssuedSession, RefreshError, Sessions};
use crate::session::store::SessionStore;

/// The claims a session's access token carries beside `sub`, `iss`, `aud`, `iat`, `exp` and
/// the `jti` every [`TokenIssuer`] writes: the session id and how its login was
/// authenticated.
///
/// [`SessionTokens`] writes them; [`Liveness::jwt_strategy`](super::Liveness::jwt_strategy)
/// reads them and refuses a token without `sid`.
///
/// # Examples
///
/// ```
/// use passport_actix::session::SessionClaims;
///
/// let claims: SessionClaims = serde_json::from_str(r#"{"sid":"s-1","amr":["pwd"]}"#).unwrap();
/// assert_eq!(claims.sid.as_deref(), Some("s-1"));
/// let foreign: SessionClaims = serde_json::from_str("{}").unwrap();
/// assert_eq!(foreign.sid, None, "a token signed elsewhere, without a session");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The session the token belongs to (`sid`); always set in the tokens of
    /// [`SessionTokens`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the session's login was authenticated (RFC 8176 `amr`: `["pwd"]`,
    /// `["pwd","otp"]`, …); absent when the session recorded none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// An access token and the session's refresh token, as login and refresh answer them:
/// `{"token", "token_type":"Bearer", "expires_in", "refresh_token"}`.
///
/// As a handler's return value it is `200` with that body and `Cache-Control: no-store`
/// (RFC 6749 §5.1). `Debug` prints neither token.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::jwt::JwtConfig;
/// use passport_actix::session::{SessionTokens, Sessions};
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let ada = store.add_user("ada@example.com").unwrap();
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
/// let tokens = SessionTokens::new(Sessions::new(Arc::new(store)), config.issuer());
///
/// let pair = tokens.start(&ada.id.to_string()).await.unwrap();
/// let body = serde_json::to_value(&pair).unwrap();
/// assert_eq!(body["token"], pair.access.token);
/// assert_eq!(body["token_type"], "Bearer");
/// assert_eq!(body["expires_in"], 3600);
/// assert_eq!(body["refresh_token"], pair.session.refresh_token.as_str());
/// assert!(!format!("{pair:?}").contains(&pair.access.token), "Debug hides the tokens");
/// # });
/// ```
#[derive(Clone)]
pub struct TokenPair {
    /// The access token, with `sid` (the session) and `jti`.
    pub access: IssuedToken,
    /// The session: its id, its user, its new refresh token.
    pub session: IssuedSession,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access", &self.access)
            .field("session_id", &self.session.session_id)
            .field("user_id", &self.session.user_id)
            .finish_non_exhaustive()
    }
}

impl Serialize for TokenPair {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_struct("TokenPair", 4)?;
        body.serialize_field("token", &self.access.token)?;
        body.serialize_field("token_type", self.access.token_type)?;
        body.serialize_field("expires_in", &self.access.expires_in)?;
        body.serialize_field("refresh_token", self.session.refresh_token.as_str())?;
        body.end()
    }
}

impl Responder for TokenPair {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(&self)
    }
}

/// Why [`SessionTokens`] issued no pair.
///
/// As a handler's error it answers for itself: a refused refresh token is `400
/// {"error":"invalid_grant"}` (one body whatever the reason: unknown, used up, expired,
/// revoked, reused), a store failure `503` or `500` and a signing failure `500`, with no
/// detail (the cause is logged).
///
/// # Examples
///
/// ```
/// use actix_web::ResponseError;
/// use passport_actix::StoreError;
/// use passport_actix::session::{RefreshError, TokenPairError};
///
/// let refused = TokenPairError::Refused(RefreshError::InvalidGrant("unknown"));
/// assert_eq!(refused.status_code(), 400);
/// assert_eq!(refused.failure().unwrap().code(), "invalid_grant");
/// let down = TokenPairError::Store(StoreError::unavailable("pool timed out"));
/// assert_eq!(down.status_code(), 503);
/// assert!(down.failure().is_none());
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenPairError {
    /// The refresh token was refused (never [`RefreshError::Store`]: that is
    /// [`Store`](Self::Store)).
    #[error(transparent)]
    Refused(RefreshError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// The access token could not be signed.
    #[error(transparent)]
    Sign(#[from] IssueError),
}

impl From<RefreshError> for TokenPairError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::Store(error) => Self::Store(error),
            refused => Self::Refused(refused),
        }
    }
}

impl From<StoreError> for TokenPairError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl TokenPairError {
    /// The client's answer for a refused refresh token ([`RefreshError::failure`]: `400
    /// invalid_grant`); `None` for a failure of the server (store, signing).
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Self::Refused(error) => error.failure(),
            Self::Store(_) | Self::Sign(_) => None,
        }
    }

    fn strategy_error(&self) -> StrategyError {
        match self {
            Self::Store(StoreError::Unavailable(_)) => {
                StrategyError::unavailable("issuing session tokens", "the store is unavailable")
            }
            _ => StrategyError::msg("issuing session tokens"),
        }
    }
}

impl ResponseError for TokenPairError {
    fn status_code(&self) -> StatusCode {
        match self.failure() {
            Some(failure) => failure.status(),
            None => match self.strategy_error().kind() {
                crate::ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(failure) = self.failure() {
            return failure_response(&[failure]);
        }
        let mut chain = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            next = cause.source();
        }
        tracing::error!(error = %chain, "no session tokens were issued");
        error_response(&self.strategy_error())
    }
}

/// Sessions and access tokens together: [`start`](Self::start) at login and
/// [`refresh`](Self::refresh) each answer a [`TokenPair`] — an access token carrying the
/// session's `sid` (and a fresh `jti`), and the session's new refresh token — ready to send.
///
/// Build it over the [`Sessions`] of a [`Liveness`](super::Liveness)-wrapped store, so that
/// [`revoke`](Self::revoke) (logout) also refuses the session's access tokens at once, and
/// guard routes with [`Liveness::jwt_strategy`](super::Liveness::jwt_strategy).
/// [`refresh_route`](Self::refresh_route) and [`logout_route`](Self::logout_route) are the
/// two handlers an app mounts.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::jwt::{Claims, JwtConfig};
/// use passport_actix::session::{SessionClaims, SessionTokens, Sessions};
/// use passport_actix::store::MemoryStore;
///
/// # actix_web::rt::System::new().block_on(async {
/// let store = MemoryStore::new();
/// let ada = store.add_user("ada@example.com").unwrap();
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
/// let tokens = SessionTokens::new(Sessions::new(Arc::new(store)), config.issuer());
///
/// let login = tokens.start(&ada.id.to_string()).await.unwrap();
/// let claims: Claims<SessionClaims> = config.verifier().verify(&login.access.token).unwrap();
/// assert_eq!(claims.custom.sid.as_deref(), Some(login.session.session_id.as_str()));
///
/// let (refreshed, user) = tokens.refresh(login.session.refresh_token.as_str()).await.unwrap();
/// assert_eq!((user.email.as_str(), refreshed.session.session_id.as_str()), ("ada@example.com", login.session.session_id.as_str()));
/// assert!(tokens.refresh(login.session.refresh_token.as_str()).await.is_ok(), "a retry within the grace");
/// # });
/// ```
pub struct SessionTokens<S> {
    sessions: Sessions<S>,
    issuer: TokenIssuer,
}

impl<S> Clone for SessionTokens<S> {
    fn clone(&self) -> Self {
        Self {
            sessions: self.sessions.clone(),
            issuer: self.issuer.clone(),
        }
    }
}

impl<S> fmt::Debug for SessionTokens<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionTokens")
            .field("sessions", &self.sessions)
            .field("issuer", &self.issuer)
            .finish()
    }
}

impl<S: SessionStore> SessionTokens<S> {
    /// Pairs `sessions` (lifetime, rotation, reuse detection) with `issuer` (the access
    /// tokens' key, issuer, audience and lifetime).
    pub fn new(sessions: Sessions<S>, issuer: TokenIssuer) -> Self {
        Self { sessions, issuer }
    }

    /// The sessions (for [`Sessions::revoke_all`], say).
    pub fn sessions(&self) -> &Sessions<S> {
        &self.sessions
    }

    /// The access tokens' issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// Starts a session for `user_id` (at login) and answers its first pair.
    ///
    /// # Errors
    ///
    /// [`TokenPairError::Store`] when the session could not be stored,
    /// [`TokenPairError::Sign`] when the token could not be signed.
    pub async fn start(&self, user_id: &str) -> Result<TokenPair, TokenPairError> {
        self.start_with_amr(user_id, &[]).await
    }

    /// [`start`](Self::start), recording how the user authenticated (RFC 8176 `amr`, see
    /// [`Sessions::start_with_amr`]): every access token of the session carries them.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::jwt::{Claims, JwtConfig};
    /// use passport_actix::session::{SessionClaims, SessionTokens, Sessions};
    /// use passport_actix::store::MemoryStore;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let store = MemoryStore::new();
    /// let ada = store.add_user("ada@example.com").unwrap();
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let tokens = SessionTokens::new(Sessions::new(Arc::new(store)), config.issuer());
    /// let amr = ["pwd".to_owned(), "otp".to_owned()];
    /// let pair = tokens.start_with_amr(&ada.id.to_string(), &amr).await.unwrap();
    /// let claims: Claims<SessionClaims> = config.verifier().verify(&pair.access.token).unwrap();
    /// assert_eq!(claims.custom.amr, amr);
    /// # });
    /// ```
    pub async fn start_with_amr(
        &self,
        user_id: &str,
        amr: &[String],
    ) -> Result<TokenPair, TokenPairError> {
        let session = self.sessions.start_with_amr(user_id, amr).await?;
        self.pair(session)
    }

    /// Uses the refresh token `presented` up and answers the session's next pair, with the
    /// session's user as the store read it (see [`Sessions::refresh`]: a retry within the
    /// reuse grace succeeds too; a used-up token presented later revokes the session).
    ///
    /// # Errors
    ///
    /// [`TokenPairError::Refused`] for a token that is unknown, used up, expired, revoked or
    /// reused (answered `400 invalid_grant`), [`TokenPairError::Store`] and
    /// [`TokenPairError::Sign`] as for [`start`](Self::start).
    pub async fn refresh(&self, presented: &str) -> Result<(TokenPair, S::User), TokenPairError> {
        let (session, user) = self.sessions.refresh(presented).await?;
        Ok((self.pair(session)?, user))
    }

    /// Revokes session `session_id` (logout); `true` if it was live. Over a
    /// [`Liveness`](super::Liveness)-wrapped store, its access tokens are refused at once.
    ///
    /// # Errors
    ///
    /// The store's.
    pub async fn revoke(&self, session_id: &str) -> Result<bool, StoreError> {
        self.sessions.revoke(session_id).await
    }

    /// Signs the access token of `session`.
    fn pair(&self, session: IssuedSession) -> Result<TokenPair, TokenPairError> {
        let claims = SessionClaims {
            sid: Some(session.session_id.clone()),
            amr: session.amr.clone(),
        };
        let access = self.issuer.issue(session.user_id.clone(), claims)?;
        Ok(TokenPair { access, session })
    }
}
