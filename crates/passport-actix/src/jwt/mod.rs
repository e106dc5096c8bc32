//! The JWT strategy (mirrors passport-jwt): extract a token, verify it, map its claims to a user.
//!
//! Keys are an HMAC secret (HS256 by default), or asymmetric keys ([`SigningKey`],
//! [`VerifyingKey`]: EdDSA, ES256, RS256) selected by `kid` from a [`KeySet`] and published as
//! a JWKS. With the `jwks` feature, a verifier can also follow a remote JWKS URL
//! (`RemoteKeySet`).

mod cache;
mod claims;
mod config;
mod error;
mod extract;
mod issuer;
#[cfg(feature = "jwks")]
mod jwks;
mod keys;
mod strategy;
mod verifier;

pub use cache::DEFAULT_VERIFIED_TOKEN_CACHE;
pub use claims::{Audience, Claims};
pub use config::{JwtConfig, MIN_HMAC_SECRET_BYTES};
pub use error::{IssueError, TokenError};
pub use extract::{ExtractJwt, Extracted};
pub use issuer::{IssuedToken, TokenIssuer};
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub use jwks::{JwksError, RemoteKeySet};
pub use keys::{
    ASYMMETRIC_ALGORITHMS, GENERATED_RSA_BITS, KeyError, KeySet, MIN_RSA_BITS, SigningKey,
    VerifyingKey,
};
pub use strategy::JwtStrategy;
pub use verifier::{DEFAULT_MAX_TOKEN_BYTES, DEFAULT_MAX_TOKEN_LIFETIME, JwtVerifier};
