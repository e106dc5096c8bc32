//! What a strategy decides: Passport's five actions as one value.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use actix_web::http::StatusCode;

use crate::challenge::Challenge;
use crate::error::StrategyError;

/// The decision of one [`Authenticate`](crate::Authenticate) strategy about one request.
///
/// It mirrors Passport's `success`, `fail`, `pass`, `error` and `redirect` actions.
///
/// # Examples
///
/// ```
/// use passport_actix::{Failure, FailureKind, Outcome, Redirect};
///
/// fn decide(header: Option<&str>) -> Outcome<String> {
///     match header {
///         None => Failure::missing("key_missing", "An API key is required").into(),
///         // Not mine: a bearer token is for the next strategy of the chain.
///         Some(other) if other.starts_with("Bearer ") => Outcome::Pass,
///         Some("let-me-in") => Outcome::success("robot".to_owned()),
///         Some("elsewhere") => Redirect::to("/login").into(),
///         Some(_) => Failure::unauthorized("invalid_key", "Bad key").into(),
///     }
/// }
/// assert!(matches!(decide(Some("let-me-in")), Outcome::Success { user, .. } if user == "robot"));
/// assert!(matches!(decide(Some("elsewhere")), Outcome::Redirect(_)));
/// assert!(matches!(decide(Some("nope")), Outcome::Fail(f) if f.status() == 401));
/// assert!(matches!(decide(None), Outcome::Fail(f) if f.kind() == FailureKind::MissingCredentials));
/// assert!(matches!(decide(Some("Bearer abc")), Outcome::Pass));
/// ```
#[derive(Debug)]
pub enum Outcome<U> {
    /// The request is authenticated as `user`.
    Success {
        /// The authenticated user.
        user: U,
        /// Extra facts about the authentication (message, raw token, strategy name).
        info: Info,
    },
    /// The credentials are missing or wrong. Failures of a chain pile up into one response.
    Fail(Failure),
    /// The strategy does not apply ("not mine"): the chain tries its next strategy. A
    /// required guard whose strategies all pass answers `401`, never runs the handler; an
    /// [`optional`](crate::Authenticator::optional) one lets the request through anonymously.
    /// For a request without this strategy's credentials, prefer [`Failure::missing`]: its
    /// challenge then reaches the client.
    Pass,
    /// Something unexpected went wrong; answered with a 500 or 503 whose detail is only logged.
    Error(StrategyError),
    /// The client should go elsewhere (for example an OAuth provider).
    Redirect(Redirect),
}

impl<U> Outcome<U> {
    /// A success with an empty [`Info`].
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Outcome;
    ///
    /// let outcome = Outcome::success(42_u32);
    /// assert!(matches!(outcome, Outcome::Success { user: 42, ref info } if info.message().is_none()));
    /// ```
    pub fn success(user: U) -> Self {
        Self::Success {
            user,
            info: Info::default(),
        }
    }

    /// Maps the user of a success, keeping every other outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Outcome;
    ///
    /// let outcome = Outcome::success(7_u32).map_user(|id| format!("user-{id}"));
    /// assert!(matches!(outcome, Outcome::Success { user, .. } if user == "user-7"));
    /// ```
    pub fn map_user<V>(self, f: impl FnOnce(U) -> V) -> Outcome<V> {
        match self {
            Self::Success { user, info } => Outcome::Success {
                user: f(user),
                info,
            },
            Self::Fail(failure) => Outcome::Fail(failure),
            Self::Pass => Outcome::Pass,
            Self::Error(error) => Outcome::Error(error),
            Self::Redirect(redirect) => Outcome::Redirect(redirect),
        }
    }
}

impl<U> From<Failure> for Outcome<U> {
    fn from(failure: Failure) -> Self {
        Self::Fail(failure)
    }
}

impl<U> From<StrategyError> for Outcome<U> {
    fn from(error: StrategyError) -> Self {
        Self::Error(error)
    }
}

impl<U> From<Redirect> for Outcome<U> {
    fn from(redirect: Redirect) -> Self {
        Self::Redirect(redirect)
    }
}

/// Facts about a successful authentication (Passport's `info`).
///
/// # Examples
///
/// ```
/// use passport_actix::{Info, Outcome};
///
/// let info = Info::with_message("Logged in").token("eyJ...");
/// assert_eq!(info.message(), Some("Logged in"));
/// assert_eq!(info.raw_token(), Some("eyJ..."));
/// assert_eq!(info.strategy(), None, "set by the chain to the name the strategy was registered under");
/// // The token never shows in logs.
/// assert!(!format!("{info:?}").contains("eyJ"));
/// let _success: Outcome<String> = Outcome::Success { user: "ada".into(), info };
/// ```
#[derive(Clone, Default)]
pub struct Info {
    message: Option<Cow<'static, str>>,
    strategy: Option<String>,
    token: Option<String>,
    session_id: Option<String>,
    subject: Option<String>,
}

impl Info {
    /// An info with a human message such as "Logged in successfully".
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Info;
    ///
    /// assert_eq!(Info::with_message("Welcome back").message(), Some("Welcome back"));
    /// ```
    pub fn with_message(message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            message: Some(message.into()),
            ..Self::default()
        }
    }

    /// Attaches the raw credential token (the JWT strategy does this).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Info;
    ///
    /// let info = Info::default().token("opaque-token");
    /// assert_eq!(info.raw_token(), Some("opaque-token"));
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Attaches the id of the session the credential belongs to (the session-aware JWT
    /// strategy, `session::Liveness::jwt_strategy` with the `jwt` feature, does this), so a
    /// logout knows which session to end.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Info;
    ///
    /// let info = Info::default().session("0b9c5a52-6f1e-4d8e-9c55-1f2a3b4c5d6e");
    /// assert_eq!(info.session_id(), Some("0b9c5a52-6f1e-4d8e-9c55-1f2a3b4c5d6e"));
    /// assert_eq!(Info::default().session_id(), None);
    /// ```
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Attaches the id of the credential's subject (the user) as the credential states it (a
    /// token's `sub`): the session-aware JWT strategy does this, so a logout of every session
    /// of the user knows whose.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Info;
    ///
    /// let info = Info::default().subject("6c1f0e52-2b47-4a8e-9c55-1f2a3b4c5d6e");
    /// assert_eq!(info.subject_id(), Some("6c1f0e52-2b47-4a8e-9c55-1f2a3b4c5d6e"));
    /// assert_eq!(Info::default().subject_id(), None);
    /// ```
    pub fn subject(mut self, user_id: impl Into<String>) -> Self {
        self.subject = Some(user_id.into());
        self
    }

    /// The human message, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The name under which the successful strategy was registered.
    pub fn strategy(&self) -> Option<&str> {
        self.strategy.as_deref()
    }

    /// The raw token the request was authenticated with, if the strategy used one.
    pub fn raw_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The session the credential belongs to, if the strategy named one.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The id of the credential's subject, if the strategy stated it.
    pub fn subject_id(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    pub(crate) fn set_strategy(&mut self, name: &str) {
        self.strategy = Some(name.to_owned());
    }
}

impl fmt::Debug for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Info")
            .field("message", &self.message)
            .field("strategy", &self.strategy)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("session_id", &self.session_id)
            .field("subject", &self.subject)
            .finish()
    }
}

/// Why a failure happened, in terms the middleware acts on.
///
/// # Examples
///
/// ```
/// use passport_actix::{Failure, FailureKind};
///
/// assert_eq!(Failure::missing("no_key", "No API key").kind(), FailureKind::MissingCredentials);
/// assert_eq!(Failure::unauthorized("bad_key", "Bad API key").kind(), FailureKind::InvalidCredentials);
/// assert_eq!(Failure::bad_request("bad_body", "Unreadable body").kind(), FailureKind::InvalidRequest);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// No credentials at all: an optional guard lets such a request through as anonymous.
    MissingCredentials,
    /// Credentials were given and are wrong, expired or malformed.
    InvalidCredentials,
    /// The request itself is malformed (bad body, several tokens, ...).
    InvalidRequest,
    /// Too many attempts: the client must wait.
    Throttled,
    /// Anything else.
    Other,
}

/// A strategy's `fail`: the status, a machine code and a message for the client, an optional
/// `WWW-Authenticate` challenge and an internal reason that is logged but never sent.
///
/// # Examples
///
/// ```
/// use passport_actix::{Challenge, Failure, FailureKind, Outcome};
///
/// let failure = Failure::unauthorized("invalid_api_key", "Bad API key")
///     .with_challenge(Challenge::new("ApiKey").error("invalid_key"))
///     .with_reason("key revoked on Monday");
/// assert_eq!(failure.status(), 401);
/// assert_eq!(failure.kind(), FailureKind::InvalidCredentials);
/// assert_eq!(failure.code(), "invalid_api_key");
/// assert_eq!(failure.message(), "Bad API key");
/// assert_eq!(failure.challenge().unwrap().to_string(), r#"ApiKey error="invalid_key""#);
/// assert_eq!(failure.reason(), Some("key revoked on Monday"));
/// assert_eq!(failure.retry_after(), None);
/// let _outcome: Outcome<String> = failure.into();
/// ```
#[derive(Debug, Clone)]
pub struct Failure {
    status: StatusCode,
    kind: FailureKind,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    challenge: Option<Box<Challenge>>,
    retry_after: Option<Duration>,
    reason: Option<Cow<'static, str>>,
}

impl Failure {
    /// A failure with any status.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::http::StatusCode;
    /// use passport_actix::{Failure, FailureKind};
    ///
    /// let failure = Failure::new(StatusCode::FORBIDDEN, "account_locked", "This account is locked");
    /// assert_eq!(failure.status(), StatusCode::FORBIDDEN);
    /// assert_eq!(failure.kind(), FailureKind::Other);
    /// ```
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            kind: FailureKind::Other,
            code: code.into(),
            message: message.into(),
            challenge: None,
            retry_after: None,
            reason: None,
        }
    }

    /// A `401` for wrong or invalid credentials.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{Failure, FailureKind};
    ///
    /// let failure = Failure::unauthorized("invalid_api_key", "Bad API key");
    /// assert_eq!(failure.status(), 401);
    /// assert_eq!(failure.kind(), FailureKind::InvalidCredentials);
    /// ```
    pub fn unauthorized(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
            .with_kind(FailureKind::InvalidCredentials)
    }

    /// A `401` saying "this strategy found no credentials of its kind here": the natural
    /// answer of a header or token strategy when its header is absent. An
    /// [`optional`](crate::Authenticator::optional) guard lets such a request through as
    /// anonymous, and when a whole chain fails, a more specific failure (credentials found and
    /// refused) is the one the client reads.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{Failure, FailureKind};
    ///
    /// let failure = Failure::missing("api_key_missing", "An API key is required").with_challenge("ApiKey");
    /// assert_eq!(failure.status(), 401);
    /// assert_eq!(failure.kind(), FailureKind::MissingCredentials);
    /// ```
    pub fn missing(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
            .with_kind(FailureKind::MissingCredentials)
    }

    /// A `400` for a request without credentials (passport-local's "Missing credentials").
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{Failure, FailureKind};
    ///
    /// let failure = Failure::missing_credentials("Both email and password are required");
    /// assert_eq!(failure.status(), 400);
    /// assert_eq!(failure.code(), "missing_credentials");
    /// assert_eq!(failure.kind(), FailureKind::MissingCredentials);
    /// ```
    pub fn missing_credentials(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "missing_credentials", message)
            .with_kind(FailureKind::MissingCredentials)
    }

    /// A `400` for a malformed request.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{Failure, FailureKind};
    ///
    /// let failure = Failure::bad_request("several_tokens", "Send one token, not several");
    /// assert_eq!(failure.status(), 400);
    /// assert_eq!(failure.kind(), FailureKind::InvalidRequest);
    /// ```
    pub fn bad_request(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message).with_kind(FailureKind::InvalidRequest)
    }

    /// A `429` telling the client to come back after `retry_after`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::Failure;
    ///
    /// let failure = Failure::throttled(Duration::from_secs(30));
    /// assert_eq!(failure.status(), 429);
    /// assert_eq!(failure.retry_after(), Some(Duration::from_secs(30)));
    /// ```
    pub fn throttled(retry_after: Duration) -> Self {
        let mut failure = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many attempts; try again later",
        )
        .with_kind(FailureKind::Throttled);
        failure.retry_after = Some(retry_after);
        failure
    }

    /// `503 server_busy` with `Retry-After`: the server cannot take this request now (for
    /// example every place of the password-hashing queue is taken) and nothing was checked,
    /// so the client should retry after `retry_after`. Kind [`FailureKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::http::StatusCode;
    /// use passport_actix::Failure;
    ///
    /// let busy = Failure::busy(Duration::from_secs(1));
    /// assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert_eq!(busy.code(), "server_busy");
    /// ```
    pub fn busy(retry_after: Duration) -> Self {
        let mut failure = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_busy",
            "Too many requests are waiting for a password check; try again shortly",
        );
        failure.retry_after = Some(retry_after);
        failure
    }

    /// Sets the kind.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{Failure, FailureKind};
    ///
    /// let failure = Failure::unauthorized("no_cookie", "No session cookie").with_kind(FailureKind::MissingCredentials);
    /// assert_eq!(failure.kind(), FailureKind::MissingCredentials);
    /// ```
    pub fn with_kind(mut self, kind: FailureKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the `WWW-Authenticate` challenge: a typed [`Challenge`] or a string written by
    /// hand (for example `Bearer realm="api"`).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{Challenge, Failure};
    ///
    /// let typed = Failure::unauthorized("invalid_token", "Expired")
    ///     .with_challenge(Challenge::bearer("api").error("invalid_token"));
    /// assert_eq!(typed.challenge().unwrap().to_string(), r#"Bearer realm="api", error="invalid_token""#);
    /// let by_hand = Failure::missing("no_key", "No API key").with_challenge("ApiKey");
    /// assert_eq!(by_hand.challenge().unwrap().to_string(), "ApiKey");
    /// ```
    pub fn with_challenge(mut self, challenge: impl Into<Challenge>) -> Self {
        self.challenge = Some(Box::new(challenge.into()));
        self
    }

    /// Sets an internal reason (for logs and custom callbacks; never sent by the default responder).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Failure;
    ///
    /// let failure = Failure::unauthorized("invalid_credentials", "Invalid email or password").with_reason("unknown user");
    /// assert_eq!(failure.reason(), Some("unknown user"));
    /// assert_eq!(failure.message(), "Invalid email or password", "the client never sees the reason");
    /// ```
    pub fn with_reason(mut self, reason: impl Into<Cow<'static, str>>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The machine-readable code, such as `invalid_credentials`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `WWW-Authenticate` challenge, if any.
    pub fn challenge(&self) -> Option<&Challenge> {
        self.challenge.as_deref()
    }

    /// How long a throttled client must wait.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The internal reason (for example "unknown user" or "wrong password").
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// A strategy's `redirect`.
///
/// # Examples
///
/// ```
/// use actix_web::cookie::Cookie;
/// use passport_actix::{Outcome, Redirect};
///
/// let redirect = Redirect::to("https://id.example.com/authorize").cookie(Cookie::new("flow", "abc"));
/// assert_eq!(redirect.status, 302);
/// let response = redirect.clone().into_response();
/// assert_eq!(response.headers().get("location").unwrap(), "https://id.example.com/authorize");
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
/// let _outcome: Outcome<String> = redirect.into();
/// ```
#[derive(Debug, Clone)]
pub struct Redirect {
    /// Where to send the client.
    pub location: String,
    /// `302 Found` unless set otherwise.
    pub status: StatusCode,
    /// Cookies set on the redirect response (for example the OpenID Connect strategy's signed
    /// `state`/`nonce` cookie).
    pub cookies: Vec<actix_web::cookie::Cookie<'static>>,
}

impl Redirect {
    /// A `302 Found` redirect to `location`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Redirect;
    ///
    /// let redirect = Redirect::to("/login");
    /// assert_eq!(redirect.location, "/login");
    /// assert_eq!(redirect.status, 302);
    /// ```
    pub fn to(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            status: StatusCode::FOUND,
            cookies: Vec::new(),
        }
    }

    /// Adds a cookie to the redirect response.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::cookie::Cookie;
    /// use passport_actix::Redirect;
    ///
    /// let response = Redirect::to("/next").cookie(Cookie::new("state", "xyz")).into_response();
    /// assert!(response.cookies().any(|c| c.name() == "state"));
    /// ```
    pub fn cookie(mut self, cookie: actix_web::cookie::Cookie<'static>) -> Self {
        self.cookies.push(cookie);
        self
    }

    /// The redirect as a response: the status, `Location`, the cookies and
    /// `Cache-Control: no-store`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::Redirect;
    ///
    /// let response = Redirect::to("/login").into_response();
    /// assert_eq!(response.status(), 302);
    /// assert_eq!(response.headers().get("location").unwrap(), "/login");
    /// ```
    pub fn into_response(self) -> actix_web::HttpResponse {
        let mut response = actix_web::HttpResponse::build(self.status);
        response
            .insert_header((actix_web::http::header::LOCATION, self.location))
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
        for cookie in self.cookies {
            response.cookie(cookie);
        }
        response.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_debug_redacts_the_token() {
        let info = Info::with_message("ok").token("eyJhbGciOi.secret.part");
        let printed = format!("{info:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn throttled_failures_carry_retry_after() {
        let failure = Failure::throttled(Duration::from_secs(30));
        assert_eq!(failure.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(failure.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(failure.kind(), FailureKind::Throttled);
    }

    #[test]
    fn busy_failures_are_503_with_retry_after() {
        let failure = Failure::busy(Duration::from_secs(1));
        assert_eq!(failure.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(failure.code(), "server_busy");
        assert_eq!(failure.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(failure.kind(), FailureKind::Other);
    }

    #[test]
    fn map_user_keeps_failures() {
        let outcome: Outcome<u8> = Outcome::Fail(Failure::unauthorized("x", "y"));
        assert!(matches!(outcome.map_user(u16::from), Outcome::Fail(_)));
        let outcome = Outcome::success(7u8).map_user(u16::from);
        assert!(matches!(outcome, Outcome::Success { user: 7, .. }));
    }
}
