//! Opaque refresh tokens: generated from a CSPRNG, stored only as a digest.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::Sha256;

/// A refresh token as handed to a client (256 bits, twice the 128 that RFC 6749 §10.10 asks
/// for): 32 bytes from the operating system's CSPRNG
/// (through `rand`'s thread-local generator, reseeded from it), base64url without padding.
///
/// The server keeps only its [`RefreshTokenHash`]; `Debug` never prints the token.
///
/// # Examples
///
/// ```
/// use passport_actix::session::{RefreshToken, RefreshTokenHash};
///
/// let token = RefreshToken::generate();
/// assert_eq!(token.as_str().len(), 43);
/// assert_eq!(RefreshTokenHash::of_presented(token.as_str()), Some(token.hash()));
/// assert!(!format!("{token:?}").contains(token.as_str()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// A new random token.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::RefreshToken;
    ///
    /// let (a, b) = (RefreshToken::generate(), RefreshToken::generate());
    /// assert_ne!(a, b);
    /// assert!(a.as_str().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    /// ```
    pub fn generate() -> Self {
        Self(crate::opaque::generate())
    }

    /// The replacement of `presented` derived under `key`: HMAC-SHA256(`key`, `presented`),
    /// base64url, the shape of a generated token. Presenting one token again gives the same
    /// replacement, so a retry inside the reuse grace gets what it missed and a stolen copy
    /// cannot start a second chain; without `key` nobody can compute it.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::RefreshToken;
    ///
    /// let presented = RefreshToken::generate();
    /// let key = [7u8; 32]; // from a CSPRNG, shared by every instance
    /// let next = RefreshToken::derive(&key, presented.as_str());
    /// assert_eq!(next, RefreshToken::derive(&key, presented.as_str()));
    /// assert_ne!(next, RefreshToken::derive(&[8u8; 32], presented.as_str()));
    /// assert_eq!(next.as_str().len(), 43);
    /// ```
    pub fn derive(key: &[u8], presented: &str) -> Self {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"passport-actix refresh token v1\0");
        mac.update(presented.as_bytes());
        Self(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The text sent to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest to store and look up.
    pub fn hash(&self) -> RefreshTokenHash {
        RefreshTokenHash::digest(&self.0)
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// The SHA-256 of a refresh token, as 64 lower-case hex digits: what a
/// [`SessionStore`](super::SessionStore) keeps and looks tokens up by.
///
/// A fast hash is right here (unlike for passwords): the token has 256 bits of entropy, so
/// the digest cannot be reversed by guessing, and a leaked table holds nothing usable.
///
/// # Examples
///
/// ```
/// use passport_actix::session::{RefreshToken, RefreshTokenHash};
///
/// let token = RefreshToken::generate();
/// let stored = token.hash();
/// assert_eq!(stored.as_str().len(), 64);
/// assert_eq!(RefreshTokenHash::from_stored(stored.as_str()), stored);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshTokenHash {
    fn digest(token: &str) -> Self {
        Self(crate::opaque::sha256_hex(token))
    }

    /// The digest of a token presented by a client, or `None` when it cannot be one of ours
    /// (wrong length or alphabet: empty, huge or JWT-shaped input never reaches the store).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::{RefreshToken, RefreshTokenHash};
    ///
    /// let token = RefreshToken::generate();
    /// assert_eq!(RefreshTokenHash::of_presented(token.as_str()), Some(token.hash()));
    /// assert_eq!(RefreshTokenHash::of_presented("eyJhbGciOiJIUzI1NiJ9.e30.sig"), None);
    /// ```
    pub fn of_presented(token: &str) -> Option<Self> {
        crate::opaque::is_shaped(token).then(|| Self::digest(token))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a digest read back from storage.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::RefreshTokenHash;
    ///
    /// let row = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    /// assert_eq!(RefreshTokenHash::from_stored(row).as_str(), row);
    /// ```
    pub fn from_stored(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_well_formed() {
        let a = RefreshToken::generate();
        let b = RefreshToken::generate();
        assert_ne!(a, b);
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(RefreshTokenHash::of_presented(a.as_str()).is_some());
    }

    #[test]
    fn input_that_cannot_be_a_token_is_refused_without_hashing() {
        for bad in [
            "",
            "short",
            &"a".repeat(5000),
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u{e9}",
        ] {
            assert_eq!(RefreshTokenHash::of_presented(bad), None, "{bad:?}");
        }
    }
}
