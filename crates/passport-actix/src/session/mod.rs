//! Sessions with refresh tokens: login starts a session, refresh rotates its token, logout
//! revokes it — and a [`LivenessCache`] lets guarded requests check a session without a
//! database round trip.
//!
//! * [`Sessions`] holds the rules (lifetime, rotation, reuse detection with a grace): what
//!   to do. It keeps nothing itself.
//! * [`SessionStore`] is what the application implements over its database: where sessions
//!   are kept, and nothing about when they rotate or end. (The server crate's `Store` is one
//!   such implementation, beside its users, audit trail and everything else it stores.)
//! * [`RefreshToken`] is the opaque token a client holds; only its [`RefreshTokenHash`] is
//!   stored.
//! * Browsers: [`Sessions::start_cookie`] starts a session named by an `HttpOnly` cookie
//!   ([`SessionCookie`]: name, `Secure`, lifetime), and [`SessionStrategy`] authenticates
//!   requests by it (Passport's `serializeUser` / `deserializeUser`), refusing cross-site
//!   unsafe requests with a [`CrossOriginProtection`](crate::CrossOriginProtection).
//! * [`LivenessCache`] remembers live sessions, and stops answering the moment it cannot be
//!   sure it heard every revocation; [`Liveness`] is the whole check (cache, ticket, store)
//!   over a [`SessionLoader`] such as the shipped stores.
//! * With the `jwt` feature, the turnkey path: `SessionTokens` issues the pair at login and
//!   refresh (an access token with `sid` and `jti`, the refresh token) and serves the refresh
//!   and logout routes; `Liveness::jwt_strategy` guards routes with the liveness check, so a
//!   logout refuses the session's access tokens at once with no code of yours.

#[cfg(feature = "jwt")]
mod bearer;
mod cache;
mod cookie;
mod liveness;
mod manager;
#[cfg(feature = "jwt")]
mod routes;
mod store;
mod strategy;
mod token;
#[cfg(feature = "jwt")]
mod tokens;

/// Milliseconds since the Unix epoch: [`clock::now_ms`](crate::clock::now_ms), the library's
/// one clock, under the name the sessions' records use.
///
/// # Examples
///
/// ```
/// use passport_actix::session::now_ms;
///
/// assert!(now_ms() > 1_700_000_000_000, "after November 2023");
/// ```
#[doc(inline)]
pub use crate::clock::now_ms;
pub use cache::{DEFAULT_LIVENESS_CAPACITY, LivenessCache, Ticket};
pub use cookie::{
    DEFAULT_COOKIE_NAME, DEFAULT_SECURE_COOKIE_NAME, InvalidCookieName, Presented, SessionCookie,
};
pub use liveness::{DEFAULT_LIVENESS_MAX_AGE, Liveness, LoadedSession, SessionLoader};
pub use manager::{
    DEFAULT_REUSE_GRACE, DEFAULT_SESSION_TTL, IssuedCookieSession, IssuedSession, RefreshError,
    Sessions,
};
pub use store::{
    MAX_UNUSED_REFRESH_TOKENS, NewCookieSession, NewSession, Rotated, Rotation, SessionRecord,
    SessionStore, TokenUse,
};
pub use strategy::SessionStrategy;
pub use token::{RefreshToken, RefreshTokenHash};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use tokens::{SessionClaims, SessionTokens, TokenPair, TokenPairError};
