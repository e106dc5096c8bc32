//! The library's error types.

use std::error::Error as StdError;

use thiserror::Error;

/// A boxed error from a store, a hasher or a user's verify callback.
///
/// # Examples
///
/// ```
/// use passport_actix::BoxError;
///
/// fn parse_port(text: &str) -> Result<u16, BoxError> {
///     Ok(text.parse::<u16>()?)
/// }
/// assert!(parse_port("8080").is_ok());
/// assert!(parse_port("eighty").is_err());
/// ```
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A mistake in how the [`Passport`](crate::Passport) was configured, reported when the
/// middleware or handle is built, never on the first request.
///
/// # Examples
///
/// ```
/// use passport_actix::{ConfigError, Passport};
///
/// let passport = Passport::<String>::new();
/// let error = passport.authenticate("jwt").err().unwrap();
/// assert!(matches!(error, ConfigError::UnknownStrategy { ref name, .. } if name == "jwt"));
/// assert_eq!(passport.authenticate(Vec::<String>::new()).err(), Some(ConfigError::EmptyChain));
/// ```
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `authenticate(name)` named a strategy that was never registered.
    #[error("no strategy named {name:?} is registered (registered: {registered})")]
    UnknownStrategy {
        /// The name that was asked for.
        name: String,
        /// The names that are registered, comma separated.
        registered: String,
    },
    /// `authenticate([])` was asked for an empty chain.
    #[error("an authentication chain needs at least one strategy name")]
    EmptyChain,
    /// A signing key is too short to be safe (RFC 7518 §3.2: at least the hash size).
    #[error("the JWT secret must be at least {min} bytes long, got {actual}")]
    WeakKey {
        /// The minimum length in bytes.
        min: usize,
        /// The length that was given.
        actual: usize,
    },
    /// The algorithm allow-list is empty or holds an algorithm the key cannot serve.
    #[error("invalid JWT algorithm configuration: {0}")]
    Algorithms(String),
    /// An API key is empty (an unset variable, say): it would let anyone in who sends an
    /// empty key, so [`ApiKeyStrategy`](crate::api_key::ApiKeyStrategy) refuses it.
    #[error("an API key must not be empty")]
    EmptyApiKey,
    /// The same API key was accepted twice.
    #[error("the same API key is configured twice")]
    DuplicateApiKey,
    /// The header or query parameter named for the API key cannot carry one.
    #[error("invalid place for the API key: {0}")]
    InvalidApiKeySource(String),
    /// Key material was refused (duplicate `kid`, wrong algorithm, ...).
    #[cfg(feature = "jwt")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
    #[error("invalid JWT key: {0}")]
    Key(#[from] crate::jwt::KeyError),
}

/// How an unexpected failure should be reported to the client.
///
/// # Examples
///
/// ```
/// use passport_actix::{ErrorKind, StrategyError};
///
/// assert_eq!(StrategyError::msg("a bug").kind(), ErrorKind::Internal);
/// let timeout = std::io::Error::other("timed out");
/// assert_eq!(StrategyError::unavailable("loading the user", timeout).kind(), ErrorKind::Unavailable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bug or an unexpected state: `500 internal_error`.
    Internal,
    /// A dependency (usually the database) is unreachable or timed out: `503 service_unavailable`.
    Unavailable,
}

/// An unexpected error raised while authenticating (Passport's `error` action).
///
/// Its detail is logged by the middleware, never shown to the client.
///
/// # Examples
///
/// ```
/// use passport_actix::{Outcome, StrategyError};
///
/// let error = StrategyError::internal("loading the user", std::io::Error::other("disk gone"));
/// assert_eq!(error.to_string(), "loading the user");
/// assert_eq!(error.chain(), "loading the user: disk gone");
/// let _outcome: Outcome<String> = error.into();
/// ```
#[derive(Debug, Error)]
#[error("{context}")]
pub struct StrategyError {
    kind: ErrorKind,
    context: &'static str,
    #[source]
    source: Option<BoxError>,
}

impl StrategyError {
    /// An internal error (answered with `500`).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{ErrorKind, StrategyError};
    ///
    /// let error = StrategyError::internal("decoding the user row", std::io::Error::other("bad utf-8"));
    /// assert_eq!(error.kind(), ErrorKind::Internal);
    /// ```
    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            context,
            source: Some(source.into()),
        }
    }

    /// A dependency is unavailable (answered with `503`).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{ErrorKind, StrategyError};
    ///
    /// let error = StrategyError::unavailable("querying the database", std::io::Error::other("timed out"));
    /// assert_eq!(error.kind(), ErrorKind::Unavailable);
    /// ```
    pub fn unavailable(context: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            kind: ErrorKind::Unavailable,
            context,
            source: Some(source.into()),
        }
    }

    /// An internal error with no underlying cause.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{ErrorKind, StrategyError};
    ///
    /// let error = StrategyError::msg("the verify callback returned no user and no error");
    /// assert_eq!(error.kind(), ErrorKind::Internal);
    /// assert_eq!(error.chain(), "the verify callback returned no user and no error");
    /// ```
    pub fn msg(context: &'static str) -> Self {
        Self {
            kind: ErrorKind::Internal,
            context,
            source: None,
        }
    }

    /// How this error is reported.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The error and its whole cause chain on one line, for logs.
    pub fn chain(&self) -> String {
        let mut out = self.context.to_owned();
        let mut next = self
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static));
        while let Some(err) = next {
            out.push_str(": ");
            out.push_str(&err.to_string());
            next = err.source();
        }
        out
    }
}

/// An error from a user store or a login throttle (the application's side of the local
/// strategy).
#[cfg_attr(
    feature = "local",
    doc = "\nSee [`UserStore`](crate::local::UserStore) and [`LoginThrottle`](crate::local::LoginThrottle)."
)]
///
/// # Examples
///
/// ```
/// use passport_actix::{ErrorKind, StoreError};
///
/// let error = StoreError::unavailable(std::io::Error::other("connection refused"));
/// assert_eq!(error.into_strategy_error("finding the user").kind(), ErrorKind::Unavailable);
/// let error = StoreError::other(std::io::Error::other("bad row"));
/// assert_eq!(error.into_strategy_error("finding the user").kind(), ErrorKind::Internal);
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing store is unreachable or timed out; the request may be retried.
    #[error("the user store is unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other failure.
    #[error("the user store failed")]
    Other(#[source] BoxError),
}

impl StoreError {
    /// Wraps an error that means "unavailable, try again later".
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::StoreError;
    ///
    /// let error = StoreError::unavailable(std::io::Error::other("pool timed out"));
    /// assert!(matches!(error, StoreError::Unavailable(_)));
    /// ```
    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable(source.into())
    }

    /// Wraps any other error.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::StoreError;
    ///
    /// let error = StoreError::other("a row with no email");
    /// assert!(matches!(error, StoreError::Other(_)));
    /// ```
    pub fn other(source: impl Into<BoxError>) -> Self {
        Self::Other(source.into())
    }

    /// The strategy error to answer with (503 for `Unavailable`, 500 otherwise), logged
    /// with `context`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{ErrorKind, StoreError};
    ///
    /// let error = StoreError::unavailable(std::io::Error::other("timeout")).into_strategy_error("finding the user");
    /// assert_eq!(error.kind(), ErrorKind::Unavailable);
    /// assert_eq!(error.chain(), "finding the user: timeout");
    /// ```
    pub fn into_strategy_error(self, context: &'static str) -> StrategyError {
        match self {
            Self::Unavailable(source) => StrategyError::unavailable(context, source),
            Self::Other(source) => StrategyError::internal(context, source),
        }
    }
}

/// An error from a password hasher.
#[cfg_attr(
    feature = "local",
    doc = "\nSee [`PasswordHasher`](crate::local::PasswordHasher)."
)]
///
/// # Examples
///
/// ```
/// use passport_actix::HashError;
///
/// let error = HashError("the hashing pool shut down".into());
/// assert_eq!(error.to_string(), "password hashing failed");
/// assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "the hashing pool shut down");
/// ```
#[derive(Debug, Error)]
#[error("password hashing failed")]
pub struct HashError(#[source] pub BoxError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_lists_every_cause() {
        let err =
            StrategyError::internal("looking up the user", std::io::Error::other("disk gone"));
        assert_eq!(err.chain(), "looking up the user: disk gone");
        assert_eq!(err.kind(), ErrorKind::Internal);
    }

    #[test]
    fn store_errors_keep_their_kind() {
        let err =
            StoreError::unavailable(std::io::Error::other("timeout")).into_strategy_error("x");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
}
