//! One-time links sent by mail: password reset, email verification and magic-link login
//! (passport-magic-link's role).
//!
//! * [`LinkToken`] is the secret a link carries: 256 bits from a CSPRNG, base64url; only its
//!   [`LinkTokenHash`] is stored.
//! * [`LinkPurpose`] types what a link is for (and the path of its URL), so a reset link can
//!   never log anyone in.
//! * [`LinkStore`] is what the application implements over its database: save a link (a newer
//!   one supersedes the older unused ones of the same user and purpose) and use one up (single
//!   use, before it expires). [`MemoryLinkStore`] is an in-memory one for tests and examples.
//! * [`OneTimeLinks`] holds the rules (lifetime per purpose) over a store.
//! * [`MagicLinkStrategy`] is a strategy any app registers: it reads the `token` field and
//!   succeeds with the link's user, or fails with `400 invalid_link` (one answer for an
//!   unknown, used, expired, superseded or malformed token).
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use passport_actix::link::{LinkPurpose, MemoryLinkStore, OneTimeLinks};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let links = OneTimeLinks::new(Arc::new(MemoryLinkStore::<String>::new()))
//!     .ttl(LinkPurpose::MagicLogin, Duration::from_secs(900));
//! let token = links.issue("ada".to_owned(), LinkPurpose::MagicLogin).await.unwrap();
//! let url = LinkPurpose::MagicLogin.url("https://app.example.com", &token);
//! assert!(url.starts_with("https://app.example.com/magic-login?token="));
//! // Single use, and only for its purpose.
//! assert_eq!(links.redeem(token.as_str(), LinkPurpose::PasswordReset).await.unwrap(), None);
//! assert_eq!(links.redeem(token.as_str(), LinkPurpose::MagicLogin).await.unwrap().as_deref(), Some("ada"));
//! assert_eq!(links.redeem(token.as_str(), LinkPurpose::MagicLogin).await.unwrap(), None);
//! # });
//! ```

mod store;
mod strategy;
mod token;

pub use store::{LinkStore, MemoryLinkStore, NewLink, OneTimeLinks};
pub use strategy::{MagicLinkStrategy, invalid_link};
pub use token::{LinkPurpose, LinkToken, LinkTokenHash};
