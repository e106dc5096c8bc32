//! One place for the key, algorithm, issuer, audience and lifetimes of tokens.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice};
use serde_json::Value;

use crate::error::ConfigError;
use crate::jwt::issuer::TokenIssuer;
use crate::jwt::keys::{KeySet, SigningKey, VerifyingKey};
use crate::jwt::verifier::{DEFAULT_MAX_TOKEN_BYTES, JwtVerifier};

/// The shortest HMAC secret accepted, in bytes (RFC 7518 §3.2 for HS256).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// Token settings shared by the [`TokenIssuer`] and the [`JwtVerifier`], so that what is
/// signed is exactly what is accepted.
///
/// Defaults: HS256 only, lifetime 3600 s, leeway 30 s, tokens of at most 8 KiB. With
/// [`asymmetric`](Self::asymmetric), tokens are signed with a [`SigningKey`] and carry its
/// `kid`; the verifier accepts that key and the [`verify_keys`](Self::verify_keys) added for a
/// rotation, each for its own algorithm only, selected by the token's `kid`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::jwt::JwtConfig;
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "my-issuer", "my-api")
///     .unwrap()
///     .ttl(Duration::from_secs(900));
/// let token = config.issuer().issue("user-1", ()).unwrap();
/// let claims = config.verifier().verify::<()>(&token.token).unwrap();
/// assert_eq!(claims.sub, "user-1");
/// assert_eq!(token.expires_in, 900);
///
/// assert!(JwtConfig::hmac(b"too short", "i", "a").is_err());
/// ```
///
/// With asymmetric keys, during a rotation:
///
/// ```
/// use passport_actix::jwt::{Algorithm, JwtConfig, SigningKey};
///
/// let old = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// let new = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// let before = JwtConfig::asymmetric(old.clone(), "my-issuer", "my-api");
/// let after = JwtConfig::asymmetric(new, "my-issuer", "my-api")
///     .verify_keys([old.verifying_key().clone()])
///     .unwrap();
/// let old_token = before.issuer().issue("user-1", ()).unwrap().token;
/// assert!(after.verifier().verify::<()>(&old_token).is_ok());
/// assert_eq!(after.jwks()["keys"].as_array().unwrap().len(), 2);
/// ```
#[derive(Clone)]
pub struct JwtConfig {
    keys: Keys,
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: Duration,
    max_token_bytes: usize,
}

/// The keys of a [`JwtConfig`].
#[derive(Clone)]
enum Keys {
    Hmac {
        secret: SecretSlice<u8>,
        algorithm: Algorithm,
    },
    Asymmetric {
        signer: SigningKey,
        accepted: KeySet,
    },
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("JwtConfig");
        match &self.keys {
            Keys::Hmac { algorithm, .. } => debug
                .field("secret", &"[redacted]")
                .field("algorithm", algorithm),
            Keys::Asymmetric { signer, accepted } => debug
                .field("signing_key", signer)
                .field("accepted", &accepted.keys()),
        };
        debug
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .field("leeway", &self.leeway)
            .finish()
    }
}

impl JwtConfig {
    /// HS256 with `secret` (at least 32 bytes), issuing and accepting only `issuer`/`audience`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::ConfigError;
    /// use passport_actix::jwt::{Algorithm, JwtConfig};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// assert_eq!(config.signing_algorithm(), Algorithm::HS256);
    /// assert_eq!(JwtConfig::hmac(b"short", "me", "my-api").unwrap_err(), ConfigError::WeakKey { min: 32, actual: 5 });
    /// ```
    pub fn hmac(
        secret: impl AsRef<[u8]>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_HMAC_SECRET_BYTES {
            return Err(ConfigError::WeakKey {
                min: MIN_HMAC_SECRET_BYTES,
                actual: secret.len(),
            });
        }
        Ok(Self {
            keys: Keys::Hmac {
                secret: SecretSlice::from(secret.to_vec()),
                algorithm: Algorithm::HS256,
            },
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(30),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        })
    }

    /// Signs with `signing_key` (its algorithm, its `kid`) and accepts it, issuing and
    /// accepting only `issuer`/`audience`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, JwtConfig, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let config = JwtConfig::asymmetric(key.clone(), "me", "my-api");
    /// assert_eq!(config.signing_algorithm(), Algorithm::EdDSA);
    /// assert_eq!(config.issuer().kid(), Some(key.kid()));
    /// assert_eq!(config.jwks()["keys"][0]["kid"], key.kid());
    /// ```
    pub fn asymmetric(
        signing_key: SigningKey,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        // A set of one key cannot hold a duplicate `kid`.
        let accepted = KeySet::new([signing_key.verifying_key().clone()]).unwrap_or_default();
        Self {
            keys: Keys::Asymmetric {
                signer: signing_key,
                accepted,
            },
            issuer: issuer.into(),
            audience: audience.into(),
            ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(30),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
        }
    }

    /// Also accepts tokens signed by these public keys (earlier keys, during a rotation).
    /// Each key accepts only its own algorithm. Refused for an HMAC configuration, and for a
    /// key whose `kid` is already accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, JwtConfig, SigningKey};
    ///
    /// let old = SigningKey::generate(Algorithm::ES256).unwrap();
    /// let new = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let config = JwtConfig::asymmetric(new, "me", "my-api").verify_keys([old.verifying_key().clone()]).unwrap();
    /// let old_token = JwtConfig::asymmetric(old, "me", "my-api").issuer().issue("ada", ()).unwrap().token;
    /// assert!(config.verifier().verify::<()>(&old_token).is_ok());
    /// // An HMAC configuration has no public keys to add.
    /// let hmac = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// assert!(hmac.verify_keys([]).is_err());
    /// ```
    pub fn verify_keys(
        mut self,
        keys: impl IntoIterator<Item = VerifyingKey>,
    ) -> Result<Self, ConfigError> {
        match &mut self.keys {
            Keys::Hmac { .. } => Err(ConfigError::Algorithms(
                "verify-only keys need an asymmetric signing key, not an HMAC secret".to_owned(),
            )),
            Keys::Asymmetric { accepted, .. } => {
                for key in keys {
                    accepted.insert(key)?;
                }
                Ok(self)
            }
        }
    }

    /// The signing algorithm.
    pub fn signing_algorithm(&self) -> Algorithm {
        match &self.keys {
            Keys::Hmac { algorithm, .. } => *algorithm,
            Keys::Asymmetric { signer, .. } => signer.algorithm(),
        }
    }

    /// The JWKS document publishing every accepted public key (`{"keys":[]}` with HMAC).
    pub fn jwks(&self) -> Value {
        match &self.keys {
            Keys::Hmac { .. } => serde_json::json!({ "keys": [] }),
            Keys::Asymmetric { accepted, .. } => accepted.to_jwks(),
        }
    }

    /// Uses another HMAC algorithm (HS384 needs a 48-byte secret, HS512 a 64-byte one).
    /// It becomes the only algorithm accepted. With asymmetric keys, only the signing key's
    /// own algorithm is accepted here.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, JwtConfig};
    ///
    /// let secret = [7_u8; 64];
    /// let config = JwtConfig::hmac(secret, "me", "my-api").unwrap().algorithm(Algorithm::HS512).unwrap();
    /// assert_eq!(config.signing_algorithm(), Algorithm::HS512);
    /// // HS512 needs 64 bytes.
    /// assert!(JwtConfig::hmac([7_u8; 32], "me", "my-api").unwrap().algorithm(Algorithm::HS512).is_err());
    /// ```
    pub fn algorithm(mut self, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let (secret, current) = match &mut self.keys {
            Keys::Hmac { secret, algorithm } => (secret, algorithm),
            Keys::Asymmetric { signer, .. } if signer.algorithm() == algorithm => return Ok(self),
            Keys::Asymmetric { signer, .. } => {
                return Err(ConfigError::Algorithms(format!(
                    "the signing key is for {:?}, not {algorithm:?}",
                    signer.algorithm()
                )));
            }
        };
        let min = match algorithm {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            other => {
                return Err(ConfigError::Algorithms(format!(
                    "{other:?} needs an asymmetric key; only HS256, HS384 and HS512 are supported"
                )));
            }
        };
        let actual = secret.expose_secret().len();
        if actual < min {
            return Err(ConfigError::WeakKey { min, actual });
        }
        *current = algorithm;
        Ok(self)
    }

    /// Sets how long issued tokens live (`exp - iat`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::JwtConfig;
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap()
    ///     .ttl(Duration::from_secs(600));
    /// assert_eq!(config.token_ttl(), Duration::from_secs(600));
    /// assert_eq!(config.issuer().issue("ada", ()).unwrap().expires_in, 600);
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the clock-skew leeway for `exp`, `nbf` and `iat`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::JwtConfig;
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap()
    ///     .leeway(Duration::from_secs(5));
    /// # let _ = config;
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets the largest token accepted, in bytes; larger ones are refused before any parsing.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{JwtConfig, TokenError};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap()
    ///     .max_token_bytes(64);
    /// let token = config.issuer().issue("ada", ()).unwrap().token;
    /// assert_eq!(config.verifier().verify::<()>(&token).unwrap_err(), TokenError::TooLarge(64));
    /// ```
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The lifetime of issued tokens.
    pub fn token_ttl(&self) -> Duration {
        self.ttl
    }

    /// A signer for these settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::JwtConfig;
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let issued = config.issuer().issue("ada", ()).unwrap();
    /// assert_eq!(issued.token_type, "Bearer");
    /// ```
    pub fn issuer(&self) -> TokenIssuer {
        let (key, algorithm, kid) = match &self.keys {
            Keys::Hmac { secret, algorithm } => (
                EncodingKey::from_secret(secret.expose_secret()),
                *algorithm,
                None,
            ),
            Keys::Asymmetric { signer, .. } => (
                signer.encoding_key().clone(),
                signer.algorithm(),
                Some(signer.kid().to_owned()),
            ),
        };
        TokenIssuer::new(
            key,
            algorithm,
            self.issuer.clone(),
            self.audience.clone(),
            self.ttl,
            kid,
        )
    }

    /// A verifier for these settings.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{JwtConfig, TokenError};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let other = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "another-api").unwrap();
    /// let token = other.issuer().issue("ada", ()).unwrap().token;
    /// assert_eq!(config.verifier().verify::<()>(&token).unwrap_err(), TokenError::WrongAudience);
    /// ```
    pub fn verifier(&self) -> JwtVerifier {
        match &self.keys {
            Keys::Hmac { secret, algorithm } => JwtVerifier::new(
                DecodingKey::from_secret(secret.expose_secret()),
                *algorithm,
                &self.issuer,
                &self.audience,
                self.leeway,
                self.max_token_bytes,
            ),
            Keys::Asymmetric { accepted, .. } => {
                JwtVerifier::with_key_set(accepted.clone(), &self.issuer, &self.audience)
                    .leeway(self.leeway)
                    .max_token_bytes(self.max_token_bytes)
            }
        }
    }
}
