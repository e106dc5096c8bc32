//! [`OidcError`]: why a provider's configuration or its discovery was refused.

use super::cookie::MIN_COOKIE_KEY_BYTES;

/// Why an [`OidcConfig`](super::OidcConfig) or a discovery was refused.
///
/// # Examples
///
/// ```
/// use passport_actix::oidc::{OidcConfig, OidcError};
///
/// let insecure = OidcConfig::new("http://accounts.example.com", "app", "https://app.example.com/cb", &[7; 32]);
/// assert!(matches!(insecure, Err(OidcError::BadUrl(_))));
/// let short_key = OidcConfig::new("https://accounts.example.com", "app", "https://app.example.com/cb", b"short");
/// assert!(matches!(short_key, Err(OidcError::ShortCookieKey)));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// A URL could not be parsed, or uses plain http on a non-loopback host.
    #[error("bad URL {0}")]
    BadUrl(String),
    /// The flow cookie key is shorter than [`MIN_COOKIE_KEY_BYTES`].
    #[error("the OIDC cookie key must be at least {MIN_COOKIE_KEY_BYTES} bytes")]
    ShortCookieKey,
    /// The discovery document could not be fetched.
    #[error("discovery failed: {0}")]
    Unreachable(String),
    /// The discovery document was fetched but refused.
    #[error("bad discovery document: {0}")]
    BadDiscovery(String),
}
