//! Second factors and assurance: what a session proved (RFC 8176 `amr`), a guard that asks
//! for more (RFC 9470 step-up), TOTP codes (RFC 6238) that are never accepted twice, and
//! single-use recovery codes.
//!
//! * [`Amr`] lists the methods a login used (`pwd`, `otp`, …); a session keeps them
//!   ([`Sessions::start_with_amr`](crate::session::Sessions::start_with_amr)) and every
//!   access token of the session carries them.
//! * [`Assurance`] lets the guard read them from your user type;
//!   [`Authenticator::require_amr`](crate::Authenticator::require_amr) and
//!   [`require_amr`] refuse a session that lacks a method with RFC 9470's
//!   `insufficient_user_authentication` challenge.
//! * [`Totp`] (feature `totp`) checks authenticator-app codes: SHA-1, 6 digits, 30 s, one
//!   step of drift either side, and reports the time step it accepted so the application can
//!   record it and refuse the same code again (RFC 6238 §5.2).
//! * [`RecoveryCode`] makes single-use codes of 80 bits, stored only as digests.

mod amr;
mod recovery;
#[cfg(feature = "totp")]
mod totp;

pub use amr::{Amr, Assurance, insufficient_user_authentication, require_amr};
pub use recovery::{RECOVERY_CODE_BITS, RecoveryCode, RecoveryCodeHash};
#[cfg(feature = "totp")]
#[cfg_attr(docsrs, doc(cfg(feature = "totp")))]
pub use totp::{TOTP_DIGITS, TOTP_PERIOD_SECONDS, Totp, TotpError, TotpSecret};
