//! Asymmetric key material: signing keys (PKCS#8), public verifying keys (SPKI PEM or JWK), a
//! key set selected by `kid`, and the JWKS document that publishes it.
//!
//! Every key knows its one algorithm (Ed25519 → `EdDSA`, P-256 → `ES256`, RSA → `RS256`) and its
//! `kid`, the RFC 7638 JWK thumbprint of its public key. A verifier takes the algorithm from the
//! key it selected, never from the token.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use pkcs8::der::zeroize::Zeroizing;
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, ObjectIdentifier};
use rand_core::OsRng;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3).
pub const MIN_RSA_BITS: usize = 2048;

/// The size of RSA keys made by [`SigningKey::generate`], in bits.
pub const GENERATED_RSA_BITS: usize = 3072;

const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// JWK members that only a private key has (RFC 7518 §6): a published key must have none.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why key material was refused. The messages never quote key bytes.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{Algorithm, KeyError, SigningKey};
///
/// assert!(matches!(SigningKey::from_pkcs8_pem("hello"), Err(KeyError::NotPem(_))));
/// assert!(matches!(SigningKey::generate(Algorithm::HS256), Err(KeyError::Unsupported(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a PEM document.
    #[error("not a PEM file ({0})")]
    NotPem(String),
    /// A PEM document of a kind that is not accepted here.
    #[error("{0}")]
    WrongPem(String),
    /// A key type or curve that is not supported.
    #[error("unsupported key: {0}")]
    Unsupported(String),
    /// The key is not the one the configured algorithm needs.
    #[error("the key is for {actual:?}, but the algorithm is {expected:?}")]
    WrongAlgorithm {
        /// The algorithm that was configured.
        expected: Algorithm,
        /// The algorithm the key serves.
        actual: Algorithm,
    },
    /// The key bytes do not decode or do not describe a valid key.
    #[error("invalid key: {0}")]
    Invalid(String),
    /// An RSA key shorter than [`MIN_RSA_BITS`].
    #[error("RSA keys must have at least {MIN_RSA_BITS} bits, got {0}")]
    WeakRsa(usize),
    /// A JWK or JWKS that breaks the rules (private members, contradicting `alg`, duplicate
    /// `kid`, ...).
    #[error("invalid JWKS: {0}")]
    Jwks(String),
}

/// The algorithms an asymmetric key can serve here.
pub const ASYMMETRIC_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

/// The public parameters of a key, in the JWK members of RFC 7518/8037.
#[derive(Clone, PartialEq, Eq)]
enum PublicParams {
    Ed25519 { x: Vec<u8> },
    P256 { x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl PublicParams {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Ed25519 { .. } => Algorithm::EdDSA,
            Self::P256 { .. } => Algorithm::ES256,
            Self::Rsa { .. } => Algorithm::RS256,
        }
    }

    /// The required members in lexicographic order (RFC 7638 §3.2), base64url-encoded.
    fn members(&self) -> Vec<(&'static str, String)> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match self {
            Self::Ed25519 { x } => vec![
                ("crv", "Ed25519".to_owned()),
                ("kty", "OKP".to_owned()),
                ("x", b64(x)),
            ],
            Self::P256 { x, y } => vec![
                ("crv", "P-256".to_owned()),
                ("kty", "EC".to_owned()),
                ("x", b64(x)),
                ("y", b64(y)),
            ],
            Self::Rsa { n, e } => vec![("e", b64(e)), ("kty", "RSA".to_owned()), ("n", b64(n))],
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url without padding.
    fn thumbprint(&self) -> String {
        let mut canonical = Map::new();
        for (name, value) in self.members() {
            canonical.insert(name.to_owned(), Value::String(value));
        }
        // serde_json's map is ordered by key and its output has no whitespace: exactly the
        // canonical form RFC 7638 hashes.
        let json = Value::Object(canonical).to_string();
        URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes()))
    }

    fn decoding_key(&self) -> Result<DecodingKey, KeyError> {
        let invalid = |e: jsonwebtoken::errors::Error| KeyError::Invalid(e.to_string());
        match self {
            Self::Ed25519 { x } => {
                DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(x)).map_err(invalid)
            }
            Self::P256 { x, y } => DecodingKey::from_ec_components(
                &URL_SAFE_NO_PAD.encode(x),
                &URL_SAFE_NO_PAD.encode(y),
            )
            .map_err(invalid),
            Self::Rsa { n, e } => Ok(DecodingKey::from_rsa_raw_components(n, e)),
        }
    }

    fn from_ed25519(key: &ed25519_dalek::VerifyingKey) -> Self {
        Self::Ed25519 {
            x: key.to_bytes().to_vec(),
        }
    }

    fn from_p256(key: &p256::PublicKey) -> Result<Self, KeyError> {
        let point = key.to_encoded_point(false);
        match (point.x(), point.y()) {
            (Some(x), Some(y)) => Ok(Self::P256 {
                x: x.to_vec(),
                y: y.to_vec(),
            }),
            _ => Err(KeyError::Invalid(
                "the P-256 point is the identity".to_owned(),
            )),
        }
    }

    fn from_rsa(key: &rsa::RsaPublicKey) -> Result<Self, KeyError> {
        let bits = key.size() * 8;
        if bits < MIN_RSA_BITS {
            return Err(KeyError::WeakRsa(bits));
        }
        Ok(Self::Rsa {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        })
    }
}

/// A public key that verifies tokens of exactly one algorithm, known by its `kid`.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{Algorithm, SigningKey, VerifyingKey};
///
/// let signing = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// let public_pem = signing.verifying_key().to_public_pem().unwrap();
/// let verifying = VerifyingKey::from_pem(&public_pem).unwrap();
/// assert_eq!(verifying.kid(), signing.kid());
/// assert_eq!(verifying.algorithm(), Algorithm::EdDSA);
/// assert!(verifying.to_jwk().get("d").is_none());
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Arc<VerifyingInner>,
}

struct VerifyingInner {
    algorithm: Algorithm,
    kid: String,
    params: PublicParams,
    decoding: DecodingKey,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("algorithm", &self.inner.algorithm)
            .field("kid", &self.inner.kid)
            .finish()
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.inner.kid == other.inner.kid && self.inner.params == other.inner.params
    }
}

impl VerifyingKey {
    fn new(params: PublicParams, kid: Option<String>) -> Result<Self, KeyError> {
        let decoding = params.decoding_key()?;
        Ok(Self {
            inner: Arc::new(VerifyingInner {
                algorithm: params.algorithm(),
                kid: kid.unwrap_or_else(|| params.thumbprint()),
                params,
                decoding,
            }),
        })
    }

    /// Reads a public key (`PUBLIC KEY`, SPKI) or the public half of a private key
    /// (`PRIVATE KEY`, PKCS#8) from PEM. Its `kid` is its RFC 7638 thumbprint.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, SigningKey, VerifyingKey};
    ///
    /// let key = SigningKey::generate(Algorithm::ES256).unwrap();
    /// let public_pem = key.verifying_key().to_public_pem().unwrap();
    /// let public = VerifyingKey::from_pem(&public_pem).unwrap();
    /// assert_eq!(public.kid(), key.kid());
    /// assert_eq!(public.algorithm(), Algorithm::ES256);
    /// ```
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        match Pem::parse(pem)? {
            Pem::Private(der) => Ok(SigningKey::from_pkcs8_der(&der)?.public),
            Pem::Public(der) => Self::new(public_params_from_spki(&der)?, None),
        }
    }

    /// Reads one public JWK, strictly: `kty` `OKP` (Ed25519), `EC` (P-256) or `RSA`; no private
    /// member; `alg`, when present, must be the algorithm of the key type; `use`, when present,
    /// must be `sig`. The `kid` is kept as given, or is the thumbprint when absent.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, SigningKey, VerifyingKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let jwk = key.verifying_key().to_jwk();
    /// assert_eq!(VerifyingKey::from_jwk(&jwk).unwrap(), *key.verifying_key());
    ///
    /// let mut private = jwk.clone();
    /// private["d"] = "c2VjcmV0".into();
    /// assert!(VerifyingKey::from_jwk(&private).is_err(), "a JWK with a private member is refused");
    /// ```
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let object = jwk
            .as_object()
            .ok_or_else(|| KeyError::Jwks("a key is not a JSON object".to_owned()))?;
        if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| object.contains_key(**m)) {
            return Err(KeyError::Jwks(format!(
                "a key has the private member {member:?}"
            )));
        }
        let text = |name: &str| -> Result<Option<&str>, KeyError> {
            match object.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(KeyError::Jwks(format!("{name} is not a string"))),
            }
        };
        let required = |name: &str| -> Result<&str, KeyError> {
            text(name)?.ok_or_else(|| KeyError::Jwks(format!("a key lacks {name}")))
        };
        let bytes = |name: &str| -> Result<Vec<u8>, KeyError> {
            URL_SAFE_NO_PAD
                .decode(required(name)?)
                .map_err(|_| KeyError::Jwks(format!("{name} is not base64url")))
        };
        let kty = required("kty")?;
        let params = match (kty, text("crv")?) {
            ("OKP", Some("Ed25519")) => {
                let x: [u8; 32] = bytes("x")?
                    .try_into()
                    .map_err(|_| KeyError::Jwks("an Ed25519 x must be 32 bytes".to_owned()))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| KeyError::Jwks("an Ed25519 x is not a valid point".to_owned()))?;
                PublicParams::from_ed25519(&key)
            }
            ("EC", Some("P-256")) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyError::Jwks("P-256 x and y must be 32 bytes".to_owned()));
                }
                let mut sec1 = vec![0x04];
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let key = p256::PublicKey::from_sec1_bytes(&sec1)
                    .map_err(|_| KeyError::Jwks("a P-256 point is not on the curve".to_owned()))?;
                PublicParams::from_p256(&key)?
            }
            ("RSA", None) => {
                let n = rsa::BigUint::from_bytes_be(&bytes("n")?);
                let e = rsa::BigUint::from_bytes_be(&bytes("e")?);
                let key = rsa::RsaPublicKey::new(n, e)
                    .map_err(|e| KeyError::Jwks(format!("an RSA key is invalid: {e}")))?;
                PublicParams::from_rsa(&key)?
            }
            ("OKP" | "EC", crv) => {
                return Err(KeyError::Jwks(format!(
                    "unsupported curve {:?} for kty {kty}",
                    crv.unwrap_or("(none)")
                )));
            }
            ("RSA", Some(_)) => return Err(KeyError::Jwks("an RSA key has crv".to_owned())),
            (other, _) => return Err(KeyError::Jwks(format!("unknown kty {other:?}"))),
        };
        if let Some(alg) = text("alg")?
            && alg != algorithm_name(params.algorithm())
        {
            return Err(KeyError::Jwks(format!(
                "alg {alg:?} contradicts kty {kty} (expected {})",
                algorithm_name(params.algorithm())
            )));
        }
        if let Some(usage) = text("use")?
            && usage != "sig"
        {
            return Err(KeyError::Jwks(format!("use {usage:?} is not \"sig\"")));
        }
        let kid = text("kid")?.map(str::to_owned);
        if kid.as_deref().is_some_and(str::is_empty) {
            return Err(KeyError::Jwks("a kid is empty".to_owned()));
        }
        Self::new(params, kid)
    }

    /// The algorithm this key verifies (and the only one it accepts).
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// The key id: the RFC 7638 thumbprint, or the `kid` a JWKS gave it.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The RFC 7638 SHA-256 JWK thumbprint of this key (base64url).
    pub fn thumbprint(&self) -> String {
        self.inner.params.thumbprint()
    }

    /// The public JWK: `kty`, `kid`, `alg`, `use: "sig"` and the public parameters only.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let jwk = key.verifying_key().to_jwk();
    /// assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()), (Some("OKP"), Some("Ed25519"), Some("EdDSA")));
    /// assert!(jwk.get("d").is_none(), "public members only");
    /// ```
    pub fn to_jwk(&self) -> Value {
        let mut jwk = Map::new();
        for (name, value) in self.inner.params.members() {
            jwk.insert(name.to_owned(), Value::String(value));
        }
        jwk.insert("kid".to_owned(), Value::String(self.inner.kid.clone()));
        jwk.insert(
            "alg".to_owned(),
            Value::String(algorithm_name(self.inner.algorithm).to_owned()),
        );
        jwk.insert("use".to_owned(), Value::String("sig".to_owned()));
        Value::Object(jwk)
    }

    /// The key as a `PUBLIC KEY` (SPKI) PEM document.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let pem = key.verifying_key().to_public_pem().unwrap();
    /// assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    /// ```
    pub fn to_public_pem(&self) -> Result<String, KeyError> {
        use pkcs8::EncodePublicKey;
        let line = pkcs8::LineEnding::LF;
        let invalid = |e: spki::Error| KeyError::Invalid(e.to_string());
        match &self.inner.params {
            PublicParams::Ed25519 { x } => {
                let x: [u8; 32] = x
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Invalid("Ed25519 key length".to_owned()))?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?
                    .to_public_key_pem(line)
                    .map_err(invalid)
            }
            PublicParams::P256 { x, y } => {
                let mut sec1 = vec![0x04];
                sec1.extend_from_slice(x);
                sec1.extend_from_slice(y);
                p256::PublicKey::from_sec1_bytes(&sec1)
                    .map_err(|e| KeyError::Invalid(e.to_string()))?
                    .to_public_key_pem(line)
                    .map_err(invalid)
            }
            PublicParams::Rsa { n, e } => rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|e| KeyError::Invalid(e.to_string()))?
            .to_public_key_pem(line)
            .map_err(invalid),
        }
    }

    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.inner.decoding
    }
}

/// A private key that signs tokens with one algorithm; its `kid` is the thumbprint of its
/// public key. The private bytes are zeroized on drop and never printed.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{Algorithm, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::ES256).unwrap();
/// let pem = key.to_pkcs8_pem().unwrap();
/// assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
/// let again = SigningKey::from_pkcs8_pem(&pem).unwrap();
/// assert_eq!(again.kid(), key.kid());
/// assert!(SigningKey::from_pkcs8_pem("not a key").is_err());
/// ```
#[derive(Clone)]
pub struct SigningKey {
    pkcs8: Arc<Zeroizing<Vec<u8>>>,
    encoding: EncodingKey,
    public: VerifyingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.public.algorithm())
            .field("kid", &self.public.kid())
            .field("private", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// A new random key for `algorithm` (`EdDSA`, `ES256` or `RS256`; RSA keys have
    /// [`GENERATED_RSA_BITS`] bits), from the operating system's CSPRNG.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// assert_eq!(key.algorithm(), Algorithm::EdDSA);
    /// assert_eq!(key.kid(), key.verifying_key().thumbprint());
    /// ```
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        let der = match algorithm {
            Algorithm::EdDSA => {
                let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
                pkcs8_ed25519_v1(&key)?
            }
            Algorithm::ES256 => p256::SecretKey::random(&mut OsRng)
                .to_pkcs8_der()
                .map_err(|e| KeyError::Invalid(e.to_string()))?,
            Algorithm::RS256 => rsa::RsaPrivateKey::new(&mut OsRng, GENERATED_RSA_BITS)
                .map_err(|e| KeyError::Invalid(e.to_string()))?
                .to_pkcs8_der()
                .map_err(|e| KeyError::Invalid(e.to_string()))?,
            other => return Err(unsupported_algorithm(other)),
        };
        Self::from_pkcs8_der(der.as_bytes())
    }

    /// Reads a `PRIVATE KEY` (unencrypted PKCS#8) PEM document: Ed25519, P-256 or RSA (at
    /// least [`MIN_RSA_BITS`] bits).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, SigningKey};
    ///
    /// let pem = SigningKey::generate(Algorithm::EdDSA).unwrap().to_pkcs8_pem().unwrap();
    /// let key = SigningKey::from_pkcs8_pem(&pem).unwrap();
    /// assert_eq!(key.algorithm(), Algorithm::EdDSA);
    /// ```
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        match Pem::parse(pem)? {
            Pem::Private(der) => Self::from_pkcs8_der(&der),
            Pem::Public(_) => Err(KeyError::WrongPem(
                "a PUBLIC KEY cannot sign; a PRIVATE KEY (PKCS#8) is needed".to_owned(),
            )),
        }
    }

    /// Like [`from_pkcs8_pem`](Self::from_pkcs8_pem), refusing a key for another algorithm.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, KeyError, SigningKey};
    ///
    /// let pem = SigningKey::generate(Algorithm::ES256).unwrap().to_pkcs8_pem().unwrap();
    /// assert!(SigningKey::from_pkcs8_pem_for(Algorithm::ES256, &pem).is_ok());
    /// assert!(matches!(SigningKey::from_pkcs8_pem_for(Algorithm::EdDSA, &pem), Err(KeyError::WrongAlgorithm { .. })));
    /// ```
    pub fn from_pkcs8_pem_for(algorithm: Algorithm, pem: &str) -> Result<Self, KeyError> {
        if !ASYMMETRIC_ALGORITHMS.contains(&algorithm) {
            return Err(unsupported_algorithm(algorithm));
        }
        let key = Self::from_pkcs8_pem(pem)?;
        if key.algorithm() != algorithm {
            return Err(KeyError::WrongAlgorithm {
                expected: algorithm,
                actual: key.algorithm(),
            });
        }
        Ok(key)
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| KeyError::Invalid(format!("not PKCS#8: {e}")))?;
        let oid = info.algorithm.oid;
        let invalid = |e: pkcs8::Error| KeyError::Invalid(e.to_string());
        let (params, encoding) = if oid == ED25519 {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(invalid)?;
            let v1 = pkcs8_ed25519_v1(&key)?;
            (
                PublicParams::from_ed25519(&key.verifying_key()),
                EncodingKey::from_ed_der(v1.as_bytes()),
            )
        } else if oid == EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(P256) {
                return Err(KeyError::Unsupported(
                    "an EC key on a curve other than P-256".to_owned(),
                ));
            }
            let key = p256::SecretKey::from_pkcs8_der(der).map_err(invalid)?;
            (
                PublicParams::from_p256(&key.public_key())?,
                EncodingKey::from_ec_der(der),
            )
        } else if oid == RSA_ENCRYPTION {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(invalid)?;
            key.validate()
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
            let params = PublicParams::from_rsa(&key.to_public_key())?;
            // jsonwebtoken's RSA signer reads PKCS#1.
            let pkcs1 = key
                .to_pkcs1_der()
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
            (params, EncodingKey::from_rsa_der(pkcs1.as_bytes()))
        } else {
            return Err(KeyError::Unsupported(format!("key algorithm OID {oid}")));
        };
        Ok(Self {
            pkcs8: Arc::new(Zeroizing::new(der.to_vec())),
            encoding,
            public: VerifyingKey::new(params, None)?,
        })
    }

    /// The key as an unencrypted `PRIVATE KEY` (PKCS#8) PEM document, zeroized on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let label = "PRIVATE KEY";
        pkcs8::der::pem::encode_string(label, pkcs8::LineEnding::LF, &self.pkcs8)
            .map(Zeroizing::new)
            .map_err(|e| KeyError::Invalid(e.to_string()))
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// The key id written in the `kid` header of every token this key signs.
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The public half.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The `jsonwebtoken` key, to sign with `jsonwebtoken::encode` directly (tests, tools).
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// Public keys selected by `kid`; no two share a `kid`.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
///
/// let current = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// let previous = SigningKey::generate(Algorithm::EdDSA).unwrap();
/// let set = KeySet::new([current.verifying_key().clone(), previous.verifying_key().clone()]).unwrap();
/// assert!(set.get(previous.kid()).is_some());
/// assert_eq!(set.to_jwks()["keys"].as_array().unwrap().len(), 2);
///
/// let same_twice = KeySet::new([current.verifying_key().clone(), current.verifying_key().clone()]);
/// assert!(same_twice.is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    /// A set of `keys`, refusing duplicate `kid`s.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
    ///
    /// let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let b = SigningKey::generate(Algorithm::ES256).unwrap();
    /// let set = KeySet::new([a.verifying_key().clone(), b.verifying_key().clone()]).unwrap();
    /// assert_eq!(set.keys().len(), 2);
    /// assert_eq!(set.get(b.kid()).unwrap().algorithm(), Algorithm::ES256);
    /// ```
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Result<Self, KeyError> {
        let mut set = Self::default();
        for key in keys {
            set.insert(key)?;
        }
        Ok(set)
    }

    /// Parses a JWKS document (`{"keys":[…]}`), strictly for the keys it uses (see
    /// [`VerifyingKey::from_jwk`]) and tolerant of the keys a real provider publishes for
    /// other purposes: a key whose `use` is not `sig` (Keycloak's `RSA-OAEP` key with
    /// `use: enc`), whose `alg` is not one this crate verifies (`RSA-OAEP`, `PS256`, `ES384`,
    /// `HS256`…), or whose `kty`/`crv` is not supported (`P-384`, `X25519`) is skipped.
    /// Refused whole: a private member in any key, a malformed key of a supported kind, an
    /// `alg` that contradicts a supported key's type, duplicate `kid`s (among all keys), and a
    /// document with no usable signing key.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let published = KeySet::new([key.verifying_key().clone()]).unwrap().to_jwks().to_string();
    /// let set = KeySet::from_jwks(published.as_bytes()).unwrap();
    /// assert!(set.get(key.kid()).is_some());
    /// assert!(KeySet::from_jwks(br#"{"keys":[]}"#).is_err(), "a JWKS with no key is refused");
    /// ```
    pub fn from_jwks(json: &[u8]) -> Result<Self, KeyError> {
        let document: Value = serde_json::from_slice(json)
            .map_err(|_| KeyError::Jwks("the document is not JSON".to_owned()))?;
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Jwks("no \"keys\" array".to_owned()))?;
        if keys.is_empty() {
            return Err(KeyError::Jwks("the \"keys\" array is empty".to_owned()));
        }
        let mut kids = std::collections::HashSet::new();
        let mut usable = Vec::new();
        for jwk in keys {
            let object = jwk
                .as_object()
                .ok_or_else(|| KeyError::Jwks("a key is not a JSON object".to_owned()))?;
            if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| object.contains_key(**m)) {
                return Err(KeyError::Jwks(format!(
                    "a key has the private member {member:?}"
                )));
            }
            if let Some(Value::String(kid)) = object.get("kid")
                && !kids.insert(kid.as_str())
            {
                return Err(KeyError::Jwks(format!("duplicate kid {kid:?}")));
            }
            if let Some(reason) = not_for_us(object) {
                tracing::debug!(reason, "a JWKS key is skipped");
                continue;
            }
            usable.push(VerifyingKey::from_jwk(jwk)?);
        }
        if usable.is_empty() {
            return Err(KeyError::Jwks(
                "the document has no signing key this verifier supports".to_owned(),
            ));
        }
        Self::new(usable)
    }

    /// Adds a key, refusing a `kid` already in the set.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    /// let mut set = KeySet::default();
    /// set.insert(key.verifying_key().clone()).unwrap();
    /// assert!(set.insert(key.verifying_key().clone()).is_err(), "one kid, one key");
    /// assert!(!set.is_empty());
    /// ```
    pub fn insert(&mut self, key: VerifyingKey) -> Result<(), KeyError> {
        if self.get(key.kid()).is_some() {
            return Err(KeyError::Jwks(format!("duplicate kid {:?}", key.kid())));
        }
        self.keys.push(key);
        Ok(())
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|key| key.kid() == kid)
    }

    /// The keys, in insertion order.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The JWKS document: `{"keys":[…]}` with every key's public JWK.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::{Algorithm, KeySet, SigningKey};
    ///
    /// let key = SigningKey::generate(Algorithm::ES256).unwrap();
    /// let jwks = KeySet::new([key.verifying_key().clone()]).unwrap().to_jwks();
    /// assert_eq!(jwks["keys"][0]["kid"], key.kid());
    /// assert_eq!(jwks["keys"][0]["kty"], "EC");
    /// ```
    pub fn to_jwks(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(VerifyingKey::to_jwk).collect::<Vec<_>>() })
    }
}

/// The JOSE name of an algorithm (`EdDSA`, `ES256`, ...).
/// Why a JWKS key is not one to verify signatures with here (`None`: it is meant to be,
/// and must then parse strictly).
fn not_for_us(jwk: &Map<String, Value>) -> Option<&'static str> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|usage| usage != "sig") {
        return Some("not a signing key (use)");
    }
    if let Some(Value::Array(ops)) = jwk.get("key_ops")
        && !ops.iter().any(|op| op.as_str() == Some("verify"))
    {
        return Some("not a verification key (key_ops)");
    }
    if text("alg").is_some_and(|alg| !["EdDSA", "ES256", "RS256"].contains(&alg)) {
        return Some("an algorithm this verifier does not support");
    }
    match (text("kty"), text("crv")) {
        (Some("RSA"), _) | (Some("EC"), Some("P-256")) | (Some("OKP"), Some("Ed25519")) => None,
        (Some("EC" | "OKP"), Some(_)) => Some("a curve this verifier does not support"),
        (Some("EC" | "OKP"), None) | (None, _) => None, // malformed: refused by the strict parse
        (Some(_), _) => Some("a key type this verifier does not support"),
    }
}

pub(crate) fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

fn unsupported_algorithm(algorithm: Algorithm) -> KeyError {
    KeyError::Unsupported(format!(
        "{} (asymmetric keys serve EdDSA, ES256 or RS256)",
        algorithm_name(algorithm)
    ))
}

/// An Ed25519 key as a version-1 PKCS#8 document (no embedded public key), the form every
/// tool reads.
fn pkcs8_ed25519_v1(key: &ed25519_dalek::SigningKey) -> Result<pkcs8::SecretDocument, KeyError> {
    let bytes = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    bytes
        .to_pkcs8_der()
        .map_err(|e| KeyError::Invalid(e.to_string()))
}

fn public_params_from_spki(der: &[u8]) -> Result<PublicParams, KeyError> {
    let info = spki::SubjectPublicKeyInfoRef::try_from(der)
        .map_err(|e| KeyError::Invalid(format!("not a SubjectPublicKeyInfo: {e}")))?;
    let oid = info.algorithm.oid;
    let invalid = |e: spki::Error| KeyError::Invalid(e.to_string());
    if oid == ED25519 {
        let key = ed25519_dalek::VerifyingKey::from_public_key_der(der).map_err(invalid)?;
        Ok(PublicParams::from_ed25519(&key))
    } else if oid == EC_PUBLIC_KEY {
        if info.algorithm.parameters_oid().ok() != Some(P256) {
            return Err(KeyError::Unsupported(
                "an EC key on a curve other than P-256".to_owned(),
            ));
        }
        let key = p256::PublicKey::from_public_key_der(der).map_err(invalid)?;
        PublicParams::from_p256(&key)
    } else if oid == RSA_ENCRYPTION {
        let key = rsa::RsaPublicKey::from_public_key_der(der).map_err(invalid)?;
        PublicParams::from_rsa(&key)
    } else {
        Err(KeyError::Unsupported(format!("key algorithm OID {oid}")))
    }
}

/// A PEM document accepted as a key.
enum Pem {
    Private(Zeroizing<Vec<u8>>),
    Public(Vec<u8>),
}

impl Pem {
    fn parse(pem: &str) -> Result<Self, KeyError> {
        let (label, document) = pkcs8::SecretDocument::from_pem(pem.trim())
            .map_err(|e| KeyError::NotPem(e.to_string()))?;
        match label {
            "PRIVATE KEY" => Ok(Self::Private(Zeroizing::new(document.as_bytes().to_vec()))),
            "PUBLIC KEY" => Ok(Self::Public(document.as_bytes().to_vec())),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::WrongPem(
                "an encrypted private key; decrypt it to unencrypted PKCS#8 \
                 (openssl pkcs8 -in key.pem -out plain.pem)"
                    .to_owned(),
            )),
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" => Err(KeyError::WrongPem(format!(
                "a {label} is not PKCS#8; convert it with: openssl pkcs8 -topk8 -nocrypt \
                 -in key.pem -out pkcs8.pem (or generate one with passport-server keygen)"
            ))),
            other => Err(KeyError::WrongPem(format!(
                "a PEM {other:?} is not a key (expected PRIVATE KEY or PUBLIC KEY)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jwt::{JwtConfig, JwtVerifier, TokenError};

    fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
        format!("{input}.{signature}")
    }

    fn claims() -> Value {
        let now = crate::clock::now_secs();
        json!({"sub": "u1", "iss": "iss", "aud": "aud", "iat": now, "exp": now + 60})
    }

    #[test]
    fn rfc_7638_and_rfc_8037_thumbprint_vectors() {
        // RFC 7638 §3.1.
        let rsa = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
        });
        let key = VerifyingKey::from_jwk(&rsa).unwrap();
        assert_eq!(key.kid(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        assert_eq!(key.algorithm(), Algorithm::RS256);
        // RFC 8037 Appendix A.3.
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let key = VerifyingKey::from_jwk(&ed).unwrap();
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(key.algorithm(), Algorithm::EdDSA);
    }

    #[test]
    fn every_algorithm_round_trips_through_pem_and_jwk_and_signs_verifiable_tokens() {
        for alg in ASYMMETRIC_ALGORITHMS {
            let key = SigningKey::generate(alg).unwrap();
            assert_eq!(key.algorithm(), alg);
            assert_eq!(key.kid(), key.verifying_key().thumbprint());
            let pem = key.to_pkcs8_pem().unwrap();
            let again = SigningKey::from_pkcs8_pem_for(alg, &pem).unwrap();
            assert_eq!(again.kid(), key.kid(), "{alg:?}");
            // The public half read from the private PEM, the public PEM and the JWK agree.
            let from_private = VerifyingKey::from_pem(&pem).unwrap();
            let from_public =
                VerifyingKey::from_pem(&key.verifying_key().to_public_pem().unwrap()).unwrap();
            let jwk = key.verifying_key().to_jwk();
            let from_jwk = VerifyingKey::from_jwk(&jwk).unwrap();
            assert_eq!(from_private, *key.verifying_key());
            assert_eq!(from_public, *key.verifying_key());
            assert_eq!(from_jwk, *key.verifying_key());
            assert_eq!(jwk["alg"], algorithm_name(alg));
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["kid"], key.kid());
            for private in PRIVATE_MEMBERS {
                assert!(jwk.get(private).is_none(), "{alg:?} {private}");
            }
            let config = JwtConfig::asymmetric(key.clone(), "iss", "aud");
            let token = config.issuer().issue("u1", ()).unwrap().token;
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.alg, alg);
            assert_eq!(header.kid.as_deref(), Some(key.kid()));
            let public_only =
                JwtVerifier::with_key_set(KeySet::new([from_jwk]).unwrap(), "iss", "aud");
            assert_eq!(public_only.verify::<()>(&token).unwrap().sub, "u1");
            assert_eq!(
                SigningKey::from_pkcs8_pem_for(
                    if alg == Algorithm::EdDSA {
                        Algorithm::ES256
                    } else {
                        Algorithm::EdDSA
                    },
                    &pem
                )
                .unwrap_err(),
                KeyError::WrongAlgorithm {
                    expected: if alg == Algorithm::EdDSA {
                        Algorithm::ES256
                    } else {
                        Algorithm::EdDSA
                    },
                    actual: alg
                }
            );
        }
    }

    #[test]
    fn the_key_not_the_token_chooses_the_algorithm() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let config = JwtConfig::asymmetric(key.clone(), "iss", "aud");
        let verifier = config.verifier();
        let kid = key.kid();
        let public_pem = key.verifying_key().to_public_pem().unwrap();
        // HS256 "signed" with the public key, as a confused verifier would check it.
        for secret in [public_pem.as_bytes(), kid.as_bytes()] {
            let forged = sign_raw(
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &claims(),
                &EncodingKey::from_secret(secret),
                Algorithm::HS256,
            );
            assert_eq!(
                verifier.verify::<()>(&forged).unwrap_err(),
                TokenError::AlgorithmNotAllowed
            );
        }
        // The right algorithm family but another algorithm than the key's.
        let eddsa = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let forged = sign_raw(
            &json!({"alg": "EdDSA", "kid": kid}),
            &claims(),
            eddsa.encoding_key(),
            Algorithm::EdDSA,
        );
        assert_eq!(
            verifier.verify::<()>(&forged).unwrap_err(),
            TokenError::AlgorithmNotAllowed
        );
        // alg none with the real kid.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        assert_eq!(
            verifier.verify::<()>(&none).unwrap_err(),
            TokenError::AlgorithmNotAllowed
        );
    }

    #[test]
    fn kid_missing_unknown_or_borrowed_by_a_foreign_key_is_refused() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let foreign = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let verifier = JwtConfig::asymmetric(key.clone(), "iss", "aud").verifier();
        let sign = |header: Value, with: &SigningKey| {
            sign_raw(&header, &claims(), with.encoding_key(), Algorithm::EdDSA)
        };
        let good = sign(json!({"alg": "EdDSA", "kid": key.kid()}), &key);
        assert_eq!(verifier.verify::<()>(&good).unwrap().sub, "u1");
        let cases = [
            (json!({"alg": "EdDSA"}), &key, TokenError::MissingKeyId),
            (
                json!({"alg": "EdDSA", "kid": foreign.kid()}),
                &foreign,
                TokenError::UnknownKey,
            ),
            (
                json!({"alg": "EdDSA", "kid": key.kid()}),
                &foreign,
                TokenError::InvalidSignature,
            ),
            (
                json!({"alg": "EdDSA", "kid": 7}),
                &key,
                TokenError::Malformed,
            ),
            (
                json!({"alg": "EdDSA", "kid": "nope"}),
                &key,
                TokenError::UnknownKey,
            ),
            (
                json!({"alg": "EdDSA", "kid": key.kid(), "jku": "http://127.0.0.1:1/jwks"}),
                &key,
                TokenError::UnsupportedHeader("jku"),
            ),
            (
                json!({"alg": "EdDSA", "kid": foreign.kid(), "jwk": foreign.verifying_key().to_jwk()}),
                &foreign,
                TokenError::UnknownKey,
            ),
        ];
        for (header, with, expected) in cases {
            let token = sign(header.clone(), with);
            assert_eq!(
                verifier.verify::<()>(&token).unwrap_err(),
                expected,
                "{header}"
            );
        }
    }

    #[test]
    fn a_verify_only_key_is_accepted_and_published_but_hmac_refuses_verify_keys() {
        let old = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let new = SigningKey::generate(Algorithm::ES256).unwrap();
        let old_token = JwtConfig::asymmetric(old.clone(), "iss", "aud")
            .issuer()
            .issue("u1", ())
            .unwrap()
            .token;
        let config = JwtConfig::asymmetric(new.clone(), "iss", "aud")
            .verify_keys([VerifyingKey::from_pem(&old.to_pkcs8_pem().unwrap()).unwrap()])
            .unwrap();
        assert_eq!(
            config.verifier().verify::<()>(&old_token).unwrap().sub,
            "u1"
        );
        let kids: Vec<_> = config.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, [new.kid(), old.kid()]);
        assert!(
            JwtConfig::asymmetric(new.clone(), "iss", "aud")
                .verify_keys([new.verifying_key().clone()])
                .is_err(),
            "duplicate kid"
        );
        let hmac = JwtConfig::hmac([1u8; 32], "iss", "aud").unwrap();
        assert_eq!(hmac.jwks(), json!({"keys": []}));
        assert!(hmac.verify_keys([old.verifying_key().clone()]).is_err());
    }

    #[test]
    fn bad_jwks_documents_are_refused() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let jwk = key.verifying_key().to_jwk();
        let with = |change: &dyn Fn(&mut Map<String, Value>)| {
            let mut jwk = jwk.as_object().unwrap().clone();
            change(&mut jwk);
            json!({ "keys": [jwk] }).to_string()
        };
        assert!(KeySet::from_jwks(json!({ "keys": [jwk] }).to_string().as_bytes()).is_ok());
        let bad = [
            "not json".to_owned(),
            "{}".to_owned(),
            json!({"keys": []}).to_string(),
            json!({"keys": [jwk, jwk]}).to_string(),
            with(&|k| {
                k.insert("kty".into(), json!("oct"));
            }),
            with(&|k| {
                k.insert("d".into(), json!("AAAA"));
            }),
            with(&|k| {
                k.insert("alg".into(), json!("RS256"));
            }),
            with(&|k| {
                k.insert("alg".into(), json!("HS256"));
            }),
            with(&|k| {
                k.insert("use".into(), json!("enc"));
            }),
            with(&|k| {
                k.insert("crv".into(), json!("X25519"));
            }),
            with(&|k| {
                k.insert("x".into(), json!("AAAA"));
            }),
            with(&|k| {
                k.remove("x");
            }),
        ];
        for document in bad {
            assert!(
                matches!(
                    KeySet::from_jwks(document.as_bytes()),
                    Err(KeyError::Jwks(_))
                ),
                "{document}"
            );
        }
        let mut ec = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .verifying_key()
            .to_jwk();
        ec["crv"] = json!("P-384");
        assert!(VerifyingKey::from_jwk(&ec).is_err());
    }

    /// A stock Keycloak realm's JWKS: an RS256 signing key beside an RSA-OAEP encryption
    /// key (`use: enc`). The signing key is used; the other one is skipped, not fatal.
    #[test]
    fn a_keycloak_shaped_document_keeps_its_signing_key_and_skips_the_rest() {
        let signing = SigningKey::generate(Algorithm::RS256).unwrap();
        let encryption = SigningKey::generate(Algorithm::RS256).unwrap();
        let mut sig = signing.verifying_key().to_jwk();
        sig["kid"] = json!("Zq0mKc9J3nR1xYvVbT5uW8sE2dF4gH6jK7lM9nP0qA");
        sig["x5c"] = json!(["MIICnTCCAYUCBgGQ"]);
        sig["x5t"] = json!("3vH1Gm7bX2kP");
        let mut enc = encryption.verifying_key().to_jwk();
        enc["kid"] = json!("Vx8nB3cD5eF7gH9jK1lM3nP5qR7sT9uW1xY3zA5bC7");
        enc["use"] = json!("enc");
        enc["alg"] = json!("RSA-OAEP");
        let mut ec384 = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .verifying_key()
            .to_jwk();
        ec384["kid"] = json!("ec-384");
        ec384["crv"] = json!("P-384");
        ec384.as_object_mut().unwrap().remove("alg");
        let document = json!({ "keys": [enc, sig, ec384] }).to_string();

        let set = KeySet::from_jwks(document.as_bytes()).unwrap();
        assert_eq!(set.keys().len(), 1, "only the signing key");
        let key = set
            .get("Zq0mKc9J3nR1xYvVbT5uW8sE2dF4gH6jK7lM9nP0qA")
            .unwrap();
        assert_eq!(key.algorithm(), Algorithm::RS256);
        assert!(
            set.get("Vx8nB3cD5eF7gH9jK1lM3nP5qR7sT9uW1xY3zA5bC7")
                .is_none()
        );

        // Still refused whole: a private member in the skipped key, duplicate kids, a
        // malformed key that claims to be for signing, and no signing key at all.
        let mut private_enc = enc.clone();
        private_enc["d"] = json!("AAAA");
        let mut broken_sig = sig.clone();
        broken_sig["n"] = json!("!!");
        let mut twin = enc.clone();
        twin["kid"] = sig["kid"].clone();
        for document in [
            json!({ "keys": [private_enc, sig] }),
            json!({ "keys": [enc, broken_sig] }),
            json!({ "keys": [twin, sig] }),
            json!({ "keys": [enc] }),
        ] {
            assert!(
                matches!(
                    KeySet::from_jwks(document.to_string().as_bytes()),
                    Err(KeyError::Jwks(_))
                ),
                "{document}"
            );
        }
    }

    #[test]
    fn wrong_pem_documents_are_refused_with_a_reason_and_without_key_bytes() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let public = key.verifying_key().to_public_pem().unwrap();
        assert!(matches!(
            SigningKey::from_pkcs8_pem(&public),
            Err(KeyError::WrongPem(_))
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(""),
            Err(KeyError::NotPem(_))
        ));
        let relabelled = pem.replace("PRIVATE KEY", "EC PRIVATE KEY");
        let err = SigningKey::from_pkcs8_pem(&relabelled)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not PKCS#8"), "{err}");
        let cert = pem.replace("PRIVATE KEY", "CERTIFICATE");
        assert!(VerifyingKey::from_pem(&cert).is_err());
        let body: String = pem.lines().nth(1).unwrap().chars().take(20).collect();
        let garbage = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        let err = SigningKey::from_pkcs8_pem(&garbage)
            .unwrap_err()
            .to_string();
        assert!(!err.contains(&body), "{err}");
        assert!(format!("{key:?}").contains("[redacted]"));
        assert!(!format!("{key:?}").contains(pem.lines().nth(1).unwrap()));
    }

    #[test]
    fn rsa_keys_below_2048_bits_are_refused() {
        let small = rsa::RsaPrivateKey::new(&mut OsRng, 1024).unwrap();
        let pem = small.to_pkcs8_pem(pkcs8::LineEnding::LF).unwrap();
        assert_eq!(
            SigningKey::from_pkcs8_pem(&pem).unwrap_err(),
            KeyError::WeakRsa(1024)
        );
        assert_eq!(
            VerifyingKey::from_pem(&pem).unwrap_err(),
            KeyError::WeakRsa(1024)
        );
    }
}
