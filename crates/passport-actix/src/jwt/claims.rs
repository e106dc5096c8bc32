//! The registered claims every token carries, plus the application's own.

use serde::{Deserialize, Serialize};

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

/// A token's claims: `sub`, `iss`, `aud`, `iat`, `exp`, optional `nbf`, and the application's
/// own claims `C` flattened beside them.
///
/// Deserialization is strict about types: a `sub` that is not a string or an `exp` that is not
/// a number makes the token invalid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims<C> {
    /// The subject: the user id.
    pub sub: String,
    /// The issuer.
    pub iss: String,
    /// The audience.
    pub aud: Audience,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// Not valid before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The application's own claims.
    #[serde(flatten)]
    pub custom: C,
}
