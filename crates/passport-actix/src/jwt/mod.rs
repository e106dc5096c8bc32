//! The JWT strategy (mirrors passport-jwt): extract a token, verify it, map its claims to a user.
//!
//! Only HMAC keys are built today; the [`JwtConfig`] and [`JwtVerifier`] types are where
//! asymmetric keys selected by `kid`, JWKS and revocation checks will go.

mod cache;
mod claims;
mod config;
mod error;
mod extract;
mod issuer;
mod strategy;
mod verifier;

pub use cache::DEFAULT_VERIFIED_TOKEN_CACHE;
pub use claims::{Audience, Claims};
pub use config::{JwtConfig, MIN_HMAC_SECRET_BYTES};
pub use error::{IssueError, TokenError};
pub use extract::{ExtractJwt, Extracted};
pub use issuer::{IssuedToken, TokenIssuer};
pub use jsonwebtoken::Algorithm;
pub use strategy::JwtStrategy;
pub use verifier::{DEFAULT_MAX_TOKEN_BYTES, DEFAULT_MAX_TOKEN_LIFETIME, JwtVerifier};
