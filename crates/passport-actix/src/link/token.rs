//! Link tokens: generated from a CSPRNG, stored only as a digest, typed by purpose.

use std::fmt;

/// What a one-time link is for. Each purpose has its own path, lifetime and store rows: a
/// token of one purpose is never accepted for another.
///
/// # Examples
///
/// ```
/// use passport_actix::link::LinkPurpose;
///
/// assert_eq!(LinkPurpose::PasswordReset.path(), "/reset-password");
/// assert_eq!(LinkPurpose::parse("magic_login"), Some(LinkPurpose::MagicLogin));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    /// Set a new password (`/reset-password`).
    PasswordReset,
    /// Log in without a password (`/magic-login`).
    MagicLogin,
    /// Confirm an address (`/verify-email`).
    EmailVerification,
}

impl LinkPurpose {
    /// Every purpose.
    pub const ALL: [Self; 3] = [
        Self::PasswordReset,
        Self::MagicLogin,
        Self::EmailVerification,
    ];

    /// The name stored with the link (`password_reset`, `magic_login`, `email_verification`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::MagicLogin => "magic_login",
            Self::EmailVerification => "email_verification",
        }
    }

    /// The purpose stored under `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The path of this purpose's link, below the public base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::PasswordReset => "/reset-password",
            Self::MagicLogin => "/magic-login",
            Self::EmailVerification => "/verify-email",
        }
    }

    /// The link to mail: `<base>/<path>?token=<token>` (a trailing `/` of `base` is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::link::{LinkPurpose, LinkToken};
    ///
    /// let token = LinkToken::generate();
    /// let url = LinkPurpose::EmailVerification.url("https://a.example/", &token);
    /// assert_eq!(url, format!("https://a.example/verify-email?token={}", token.as_str()));
    /// ```
    pub fn url(self, base: &str, token: &LinkToken) -> String {
        format!(
            "{}{}?token={}",
            base.trim_end_matches('/'),
            self.path(),
            token.as_str()
        )
    }
}

impl fmt::Display for LinkPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret of a one-time link: 32 bytes from the operating system's CSPRNG (through
/// `rand`'s thread-local generator), base64url without padding (`[A-Za-z0-9_-]`, 43
/// characters). Only its [`LinkTokenHash`] is stored; `Debug` never prints it.
///
/// # Examples
///
/// ```
/// use passport_actix::link::{LinkToken, LinkTokenHash};
///
/// let token = LinkToken::generate();
/// assert_eq!(token.as_str().len(), 43);
/// assert_eq!(LinkTokenHash::of_presented(token.as_str()), Some(token.hash()));
/// assert!(!format!("{token:?}").contains(token.as_str()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(String);

impl LinkToken {
    /// A new random token.
    pub fn generate() -> Self {
        Self(crate::opaque::generate())
    }

    /// The text the link carries.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest to store and look up.
    pub fn hash(&self) -> LinkTokenHash {
        LinkTokenHash::digest(&self.0)
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

/// The SHA-256 of a link token as 64 lower-case hex digits: what a [`LinkStore`](super::LinkStore)
/// keeps. A fast hash is right for a 256-bit random secret (nothing to guess).
///
/// # Examples
///
/// ```
/// use passport_actix::link::{LinkToken, LinkTokenHash};
///
/// let token = LinkToken::generate();
/// assert_eq!(token.hash().as_str().len(), 64);
/// assert_eq!(LinkTokenHash::of_presented("short"), None);
/// assert_eq!(LinkTokenHash::of_presented(&"a".repeat(10_000)), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinkTokenHash(String);

impl LinkTokenHash {
    fn digest(token: &str) -> Self {
        Self(crate::opaque::sha256_hex(token))
    }

    /// The digest of a token presented by a client, or `None` when it cannot be one of ours
    /// (wrong length or alphabet: a truncated or huge token never reaches the store).
    pub fn of_presented(token: &str) -> Option<Self> {
        crate::opaque::is_shaped(token).then(|| Self::digest(token))
    }

    /// A digest read back from storage.
    pub fn from_stored(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_url_safe_and_at_least_128_bits() {
        let a = LinkToken::generate();
        let b = LinkToken::generate();
        assert_ne!(a, b);
        assert!(
            a.as_str()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert!(a.as_str().len() * 6 >= 128);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn a_presented_token_must_have_the_shape_of_ours() {
        let token = LinkToken::generate();
        assert_eq!(
            LinkTokenHash::of_presented(token.as_str()),
            Some(token.hash())
        );
        assert_eq!(LinkTokenHash::of_presented(&token.as_str()[..42]), None);
        assert_eq!(
            LinkTokenHash::of_presented(&format!("{}=", &token.as_str()[..42])),
            None
        );
        assert_eq!(LinkTokenHash::of_presented(""), None);
    }

    #[test]
    fn purposes_round_trip_their_names() {
        for purpose in LinkPurpose::ALL {
            assert_eq!(LinkPurpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(LinkPurpose::parse("other"), None);
    }
}
