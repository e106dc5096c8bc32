//! The registered claims every token carries, plus the application's own.

use serde::{Deserialize, Serialize};

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::Audience;
///
/// let one: Audience = serde_json::from_str(r#""my-api""#).unwrap();
/// assert_eq!(one, Audience::One("my-api".into()));
/// let many: Audience = serde_json::from_str(r#"["my-api","billing"]"#).unwrap();
/// assert_eq!(many, Audience::Many(vec!["my-api".into(), "billing".into()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

/// A token's claims: `sub`, `iss`, `aud`, `iat`, `exp`, optional `nbf` and `jti`, and the
/// application's own claims `C` flattened beside them (so `C` must not have fields of these
/// names: a [`TokenIssuer`](crate::jwt::TokenIssuer) writes `jti` itself).
///
/// Deserialization is strict about types: a `sub` that is not a string or an `exp` that is not
/// a number makes the token invalid.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{Claims, JwtConfig};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Roles { roles: Vec<String> }
///
/// let config = JwtConfig::hmac(b"a secret of at least thirty-two bytes!", "me", "my-api").unwrap();
/// let token = config.issuer().issue("ada", Roles { roles: vec!["admin".into()] }).unwrap().token;
/// let claims: Claims<Roles> = config.verifier().verify(&token).unwrap();
/// assert_eq!(claims.sub, "ada");
/// assert_eq!(claims.iss, "me");
/// assert_eq!(claims.exp - claims.iat, 3600);
/// assert_eq!(claims.custom.roles, ["admin"]);
/// ```
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
    /// The token's unique id (RFC 7519 §4.1.7): 128 random bits, written by every
    /// [`TokenIssuer`](crate::jwt::TokenIssuer); `None` in a token signed elsewhere without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The application's own claims.
    #[serde(flatten)]
    pub custom: C,
}
