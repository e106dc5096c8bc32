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
use crate::jwt::keys::{ASYMMETRIC_ALGORITHMS, KeySet, VerifyingKey};

/// The default bound on a token's size: 8 KiB. Ours are about 300 bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The default longest lifetime (`exp - iat`) a token may claim: 24 hours.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Checks a compact JWS as RFC 8725 asks: size bound first, then the algorithm allow-list
/// (never `none`), the signature, required `exp`, `iss`, `aud`, `sub` and `iat`, `nbf` when
/// present, `iat` not in the future, and no `crit` or key-fetching header (`jku`, `jwk`, `x5u`,
/// `x5c`): no key is ever fetched from or supplied by the token.
///
/// With an HMAC secret a `kid` header is refused too. With a [`KeySet`], the token's `kid`
/// selects the key (a token without one, or with an unknown one, is refused) and the
/// algorithm is the key's own: a token naming any other algorithm, HS256 included, is refused.
///
/// # Examples
///
/// A resource server that holds only public keys:
///
/// ```
/// use passport_actix::jwt::{Algorithm, JwtConfig, JwtVerifier, KeySet, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::ES256).unwrap();
/// let token = JwtConfig::asymmetric(key.clone(), "auth", "api").issuer().issue("u1", ()).unwrap();
///
/// let public = KeySet::new([key.verifying_key().clone()]).unwrap();
/// let verifier = JwtVerifier::with_key_set(public, "auth", "api");
/// assert_eq!(verifier.verify::<()>(&token.token).unwrap().sub, "u1");
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    keys: VerifierKeys,
    validation: Validation,
    /// One validation per asymmetric algorithm, each allowing only that algorithm.
    asymmetric: Vec<Validation>,
    leeway: u64,
    max_token_bytes: usize,
    max_lifetime: u64,
}

/// Where a [`JwtVerifier`] finds its key.
#[derive(Clone)]
enum VerifierKeys {
    /// One HMAC secret; `kid` refused.
    Hmac(DecodingKey),
    /// Public keys selected by `kid`.
    Set(KeySet),
    /// A remote JWKS, selected by `kid`.
    #[cfg(feature = "jwks")]
    Remote(crate::jwt::jwks::RemoteKeySet),
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("JwtVerifier");
        match &self.keys {
            VerifierKeys::Hmac(_) => debug.field("algorithms", &self.validation.algorithms),
            VerifierKeys::Set(set) => debug.field("keys", &set.keys()),
            #[cfg(feature = "jwks")]
            VerifierKeys::Remote(remote) => debug.field("keys", remote),
        };
        debug
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
        Self {
            keys: VerifierKeys::Hmac(key),
            validation: validation(algorithm, issuer, audience, leeway),
            asymmetric: Vec::new(),
            leeway: leeway.as_secs(),
            max_token_bytes,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME.as_secs(),
        }
    }

    /// Sets the longest lifetime (`exp - iat`) a token may claim (default 24 h): a token
    /// signed to live for a year, even with the right key, is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::{JwtConfig, TokenError};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let token = config.issuer().issue("ada", ()).unwrap().token; // lives one hour
    /// let strict = config.verifier().max_lifetime(Duration::from_secs(900));
    /// assert_eq!(strict.verify::<()>(&token).unwrap_err(), TokenError::LifetimeTooLong);
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime.as_secs();
        self
    }

    /// A verifier that accepts tokens signed by any key of `keys`, selected by the token's
    /// `kid`, for `issuer`/`audience`; leeway 30 s, tokens of at most 8 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, JwtConfig, JwtVerifier, KeySet, SigningKey, TokenError};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let stranger = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let verifier = JwtVerifier::with_key_set(KeySet::new([key.verifying_key().clone()]).unwrap(), "me", "my-api");
    /// let token = JwtConfig::asymmetric(stranger, "me", "my-api").issuer().issue("ada", ()).unwrap().token;
    /// assert_eq!(verifier.verify::<()>(&token).unwrap_err(), TokenError::UnknownKey);
    /// ```
    pub fn with_key_set(keys: KeySet, issuer: &str, audience: &str) -> Self {
        Self::asymmetric(VerifierKeys::Set(keys), issuer, audience)
    }

    /// A verifier that follows a remote JWKS (see [`RemoteKeySet`](crate::jwt::RemoteKeySet)),
    /// selected by the token's `kid`, for `issuer`/`audience`; leeway 30 s, tokens of at most
    /// 8 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{JwtVerifier, RemoteKeySet};
    ///
    /// let keys = RemoteKeySet::new("https://auth.example.com/.well-known/jwks.json").unwrap();
    /// let verifier = JwtVerifier::with_remote_key_set(keys, "https://auth.example.com", "my-api");
    /// # let _ = verifier;
    /// ```
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn with_remote_key_set(
        keys: crate::jwt::jwks::RemoteKeySet,
        issuer: &str,
        audience: &str,
    ) -> Self {
        Self::asymmetric(VerifierKeys::Remote(keys), issuer, audience)
    }

    fn asymmetric(keys: VerifierKeys, issuer: &str, audience: &str) -> Self {
        let leeway = Duration::from_secs(30);
        Self {
            keys,
            // Never used to decode here (each key has its algorithm's validation below); it
            // keeps the issuer and audience for `Debug`.
            validation: validation(Algorithm::EdDSA, issuer, audience, leeway),
            asymmetric: ASYMMETRIC_ALGORITHMS
                .iter()
                .map(|alg| validation(*alg, issuer, audience, leeway))
                .collect(),
            leeway: leeway.as_secs(),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            max_lifetime: DEFAULT_MAX_TOKEN_LIFETIME.as_secs(),
        }
    }

    /// Sets the clock-skew leeway for `exp`, `nbf` and `iat`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::JwtConfig;
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let verifier = config.verifier().leeway(Duration::from_secs(0));
    /// # let _ = verifier;
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway.as_secs();
        for validation in std::iter::once(&mut self.validation).chain(&mut self.asymmetric) {
            validation.leeway = leeway.as_secs();
        }
        self
    }

    /// Sets the largest token accepted, in bytes; larger ones are refused before any parsing.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{JwtConfig, TokenError};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let verifier = config.verifier().max_token_bytes(16);
    /// assert_eq!(verifier.verify::<()>("a.rather.long.token.of.many.bytes").unwrap_err(), TokenError::TooLarge(16));
    /// ```
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The remote key set this verifier follows, if any.
    #[cfg(feature = "jwks")]
    pub(crate) fn remote(&self) -> Option<&crate::jwt::jwks::RemoteKeySet> {
        match &self.keys {
            VerifierKeys::Remote(remote) => Some(remote),
            _ => None,
        }
    }

    /// The key the token's `kid` selects, with the validation of that key's algorithm.
    fn select(&self, token: &str) -> Result<(VerifyingKey, &Validation), TokenError> {
        let kid = match header_value(token, "kid") {
            Some(Value::String(kid)) => kid,
            Some(_) => return Err(TokenError::Malformed),
            None => return Err(TokenError::MissingKeyId),
        };
        let key = match &self.keys {
            VerifierKeys::Hmac(_) => return Err(TokenError::UnsupportedHeader("kid")),
            VerifierKeys::Set(set) => set.get(&kid).cloned(),
            #[cfg(feature = "jwks")]
            VerifierKeys::Remote(remote) => remote.current().get(&kid).cloned(),
        }
        .ok_or(TokenError::UnknownKey)?;
        let validation = self
            .asymmetric
            .iter()
            .find(|v| v.algorithms.first() == Some(&key.algorithm()))
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        Ok((key, validation))
    }

    /// Verifies `token` and returns its claims.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{JwtConfig, TokenError};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let token = config.issuer().issue("ada", ()).unwrap().token;
    /// assert_eq!(config.verifier().verify::<()>(&token).unwrap().sub, "ada");
    /// // Change the first character of the signature.
    /// let at = token.rfind('.').unwrap() + 1;
    /// let replacement = if token[at..].starts_with('A') { "B" } else { "A" };
    /// let mut forged = token.clone();
    /// forged.replace_range(at..at + 1, replacement);
    /// assert_eq!(config.verifier().verify::<()>(&forged).unwrap_err(), TokenError::InvalidSignature);
    /// ```
    pub fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Claims<C>, TokenError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenError::TooLarge(self.max_token_bytes));
        }
        if token.bytes().filter(|b| *b == b'.').count() != 2 {
            return Err(TokenError::Malformed);
        }
        let selected;
        let (key, validation, kid_allowed) = match &self.keys {
            VerifierKeys::Hmac(key) => (key, &self.validation, false),
            _ => {
                let (key, validation) = self.select(token)?;
                selected = key;
                (selected.decoding_key(), validation, true)
            }
        };
        // The happy path decodes once, straight into the typed claims; only a failure pays for
        // finding out exactly what was wrong.
        let data = jsonwebtoken::decode::<Claims<C>>(token, key, validation)
            .map_err(|e| explain(token, key, validation, e.into_kind()))?;
        refuse_unsupported_headers(&data.header, kid_allowed)?;
        let claims = data.claims;
        let now = crate::clock::now_secs();
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
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{JwtConfig, TokenError};
    ///
    /// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
    /// let verifier = config.verifier();
    /// let token = config.issuer().issue("ada", ()).unwrap().token;
    /// let mut claims = verifier.verify::<()>(&token).unwrap();
    /// assert_eq!(verifier.check_lifetime(&claims), Ok(()));
    /// claims.exp = claims.iat - 3600; // as if an hour had passed since it expired
    /// assert_eq!(verifier.check_lifetime(&claims), Err(TokenError::Expired));
    /// ```
    pub fn check_lifetime<C>(&self, claims: &Claims<C>) -> Result<(), TokenError> {
        let now = crate::clock::now_secs();
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

fn validation(algorithm: Algorithm, issuer: &str, audience: &str, leeway: Duration) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.leeway = leeway.as_secs();
    validation
}

/// Names the real reason a token was refused.
fn explain(token: &str, key: &DecodingKey, validation: &Validation, kind: ErrorKind) -> TokenError {
    match kind {
        ErrorKind::MissingRequiredClaim(claim) => missing_or_malformed(token, claim),
        ErrorKind::Json(_) => {
            // `jsonwebtoken` cannot even parse a header whose `alg` it does not know
            // (`none`, `None`, ...), which would make such a token merely "malformed".
            if let Some(alg) = header_algorithm(token) {
                match alg.parse::<Algorithm>() {
                    Ok(alg) if validation.algorithms.contains(&alg) => {}
                    _ => return TokenError::AlgorithmNotAllowed,
                }
            }
            // The typed claims did not deserialize: decoding into a `Value` runs the
            // required-claim check first and tells a missing claim from a mistyped one.
            match jsonwebtoken::decode::<Value>(token, key, validation) {
                Err(e) => match e.into_kind() {
                    ErrorKind::MissingRequiredClaim(claim) => missing_or_malformed(token, claim),
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

/// The `alg` named by the token's header, if the header is base64url JSON with a string `alg`.
fn header_algorithm(token: &str) -> Option<String> {
    header_value(token, "alg")?.as_str().map(str::to_owned)
}

/// A member of the token's header, if the header is base64url JSON with that member.
fn header_value(token: &str, name: &str) -> Option<Value> {
    let header = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let mut header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get_mut(name).map(Value::take)
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

fn refuse_unsupported_headers(header: &Header, kid_allowed: bool) -> Result<(), TokenError> {
    let refused = [
        ("crit", header.crit.is_some()),
        ("jku", header.jku.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5u", header.x5u.is_some()),
        ("x5c", header.x5c.is_some()),
        ("kid", header.kid.is_some() && !kid_allowed),
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
