//! Signing tokens.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::jwt::claims::{Audience, Claims};
use crate::jwt::error::IssueError;

/// A freshly signed token, ready to send as `{"token", "token_type", "expires_in"}`.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::JwtConfig;
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
/// let issued = config.issuer().issue("ada", ()).unwrap();
/// let body = serde_json::to_value(&issued).unwrap();
/// assert_eq!(body["token_type"], "Bearer");
/// assert_eq!(body["expires_in"], 3600);
/// assert!(!format!("{issued:?}").contains(&issued.token), "Debug hides the token");
/// ```
#[derive(Clone, Serialize)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Signs tokens with `sub`, `iat`, `exp`, `iss`, `aud`, a fresh random `jti` and custom
/// claims; an asymmetric key also writes its `kid` in the header. Made by
/// [`JwtConfig::issuer`](crate::jwt::JwtConfig::issuer).
///
/// Every token gets its own `jti` (128 bits from the CSPRNG, unpadded base64url), so two
/// tokens for the same subject signed within the same second still differ.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{JwtConfig, TokenIssuer};
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
/// let issuer: TokenIssuer = config.issuer();
/// assert_eq!(issuer.kid(), None, "HMAC tokens carry no kid");
/// let token = issuer.issue("ada", ()).unwrap().token;
/// assert_eq!(config.verifier().verify::<()>(&token).unwrap().sub, "ada");
/// ```
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    header: Header,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("algorithm", &self.header.alg)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub(crate) fn new(
        key: EncodingKey,
        algorithm: Algorithm,
        issuer: String,
        audience: String,
        ttl: Duration,
        kid: Option<String>,
    ) -> Self {
        let mut header = Header::new(algorithm);
        header.typ = Some("JWT".to_owned());
        header.kid = kid;
        Self {
            key,
            header,
            issuer,
            audience,
            ttl,
        }
    }

    /// The `kid` written in the header (asymmetric keys only).
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// Signs a token for `subject` with the application's `custom` claims (use `()` for none).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Claims, JwtConfig};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let token = config.issuer().issue("ada", serde_json::json!({ "sid": "s-1" })).unwrap().token;
    /// let claims: Claims<serde_json::Value> = config.verifier().verify(&token).unwrap();
    /// assert_eq!(claims.custom["sid"], "s-1");
    /// assert_eq!(claims.jti.map(|jti| jti.len()), Some(22), "128 random bits");
    /// ```
    pub fn issue<C: Serialize>(
        &self,
        subject: impl Into<String>,
        custom: C,
    ) -> Result<IssuedToken, IssueError> {
        let now = crate::clock::now_secs();
        let claims = Claims {
            sub: subject.into(),
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
            iat: now,
            exp: now + self.ttl.as_secs(),
            nbf: None,
            jti: Some(new_jti()),
            custom,
        };
        let token = jsonwebtoken::encode(&self.header, &claims, &self.key).map_err(IssueError)?;
        Ok(IssuedToken {
            token,
            token_type: "Bearer",
            expires_in: self.ttl.as_secs(),
        })
    }
}

/// A token id: 128 bits from the CSPRNG as unpadded URL-safe base64 (22 characters).
fn new_jti() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use crate::jwt::{Claims, JwtConfig};

    #[test]
    fn two_tokens_for_one_subject_in_the_same_second_differ_by_their_jti() {
        let config =
            JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
        let issuer = config.issuer();
        let verifier = config.verifier();
        // Issue pairs until both fall within one second (the first pair almost always does),
        // so the test holds on a slow machine without depending on timing.
        let (tokens, first, second) = loop {
            let tokens = [
                issuer.issue("ada", ()).unwrap().token,
                issuer.issue("ada", ()).unwrap().token,
            ];
            let (a, b): (Claims<()>, Claims<()>) = (
                verifier.verify(&tokens[0]).unwrap(),
                verifier.verify(&tokens[1]).unwrap(),
            );
            if a.iat == b.iat {
                break (tokens, a, b);
            }
        };
        assert_eq!((first.sub.as_str(), first.exp), ("ada", second.exp));
        assert_ne!(tokens[0], tokens[1], "the same subject in the same second");
        let (a, b) = (first.jti.unwrap(), second.jti.unwrap());
        assert_ne!(a, b, "distinct token ids");
        for jti in [&a, &b] {
            assert_eq!(jti.len(), 22, "{jti}: 128 bits as unpadded base64url");
            assert!(
                jti.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
                "{jti}"
            );
        }
    }
}
