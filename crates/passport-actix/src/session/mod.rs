//! Sessions with refresh tokens: login starts a session, refresh rotates its token, logout
//! revokes it — and a [`LivenessCache`] lets guarded requests check a session without a
//! database round trip.
//!
//! * [`Sessions`] holds the rules (lifetime, rotation, reuse detection with a grace).
//! * [`SessionStore`] is what the application implements over its database.
//! * [`RefreshToken`] is the opaque token a client holds; only its [`RefreshTokenHash`] is
//!   stored.
//! * [`LivenessCache`] remembers live sessions for the JWT strategy's verify callback, and
//!   stops answering the moment it cannot be sure it heard every revocation.

mod cache;
mod manager;
mod store;
mod token;

pub use cache::{DEFAULT_LIVENESS_CAPACITY, LivenessCache, Ticket};
pub use manager::{
    DEFAULT_REUSE_GRACE, DEFAULT_SESSION_TTL, IssuedSession, RefreshError, Sessions, now_ms,
};
pub use store::{
    MAX_UNUSED_REFRESH_TOKENS, NewSession, Rotated, Rotation, SessionRecord, SessionStore, TokenUse,
};
pub use token::{RefreshToken, RefreshTokenHash};
