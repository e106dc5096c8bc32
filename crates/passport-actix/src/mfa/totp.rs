//! Time-based one-time passwords (RFC 6238) for authenticator apps, over the `totp-rs` crate.

use std::fmt;

use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use thiserror::Error;
use totp_rs::{Algorithm, TOTP};

/// Digits per code: 6, what every authenticator app shows.
pub const TOTP_DIGITS: usize = 6;
/// Seconds per time step: 30 (RFC 6238 §5.2's recommendation).
pub const TOTP_PERIOD_SECONDS: u64 = 30;
/// Bytes in a generated secret: 20 (160 bits, RFC 4226 §4's recommendation for SHA-1).
const SECRET_BYTES: usize = 20;

/// A TOTP shared secret. It never prints (`Debug` is redacted) and is wiped from memory when
/// dropped.
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::TotpSecret;
///
/// let secret = TotpSecret::generate();
/// assert_eq!(secret.expose_bytes().len(), 20);
/// let again = TotpSecret::from_bytes(secret.expose_bytes().to_vec()).unwrap();
/// assert_eq!(again.expose_bytes(), secret.expose_bytes());
/// assert_eq!(format!("{secret:?}"), "TotpSecret([redacted])");
/// ```
pub struct TotpSecret(SecretBox<Vec<u8>>);

impl TotpSecret {
    /// 160 random bits from a CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// A secret read back from storage; at least 128 bits (RFC 4226 §4).
    ///
    /// # Errors
    ///
    /// [`TotpError::SecretTooShort`] below 16 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if bytes.len() < 16 {
            return Err(TotpError::SecretTooShort);
        }
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    /// The raw bytes (to encrypt for storage; never log them).
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// Why a [`Totp`] could not be made.
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::{TotpError, TotpSecret};
///
/// assert!(matches!(TotpSecret::from_bytes(vec![0; 8]), Err(TotpError::SecretTooShort)));
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TotpError {
    /// The secret has fewer than 128 bits.
    #[error("a TOTP secret needs at least 128 bits")]
    SecretTooShort,
    /// The issuer or account name is not usable in an `otpauth://` URI.
    #[error("the TOTP issuer or account name is not valid: {0}")]
    Label(String),
}

/// One user's TOTP generator and verifier: HMAC-SHA-1, 6 digits, 30-second steps, codes of
/// the current step and one step either side accepted.
///
/// [`verify`](Self::verify) returns the time step a code matched, never one at or before the
/// last step accepted for this user: record that step (atomically, for example
/// `UPDATE … SET last_step = $step WHERE last_step < $step`) and a code is never accepted
/// twice, as RFC 6238 §5.2 requires.
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::{Totp, TotpSecret};
///
/// let totp = Totp::new(TotpSecret::generate(), "Example", "ada@example.com").unwrap();
/// assert!(totp.otpauth_uri().starts_with("otpauth://totp/Example:ada%40example.com?secret="));
///
/// let now = 1_700_000_000;
/// let code = totp.code_at(now);
/// let step = totp.verify(&code, now, None).expect("the current code");
/// assert_eq!(step, Totp::step_at(now));
/// // The same code again, once its step is recorded: refused.
/// assert_eq!(totp.verify(&code, now, Some(step)), None);
/// // The next step's code is still fine (clock drift), but nothing older than one step.
/// assert!(totp.verify(&totp.code_at(now + 30), now, Some(step)).is_some());
/// assert_eq!(totp.verify(&totp.code_at(now - 60), now, None), None);
/// ```
pub struct Totp {
    inner: TOTP,
}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("issuer", &self.inner.issuer)
            .field("account_name", &self.inner.account_name)
            .finish_non_exhaustive()
    }
}

impl Totp {
    /// A verifier for `secret`, labelled `issuer:account` in authenticator apps (a `:` in
    /// either is replaced by `_`, since it separates them).
    ///
    /// # Errors
    ///
    /// [`TotpError::Label`] when `totp-rs` refuses the label.
    pub fn new(secret: TotpSecret, issuer: &str, account: &str) -> Result<Self, TotpError> {
        let inner = TOTP::new(
            Algorithm::SHA1,
            TOTP_DIGITS,
            1,
            TOTP_PERIOD_SECONDS,
            secret.expose_bytes().to_vec(),
            Some(issuer.replace(':', "_")),
            account.replace(':', "_"),
        )
        .map_err(|e| TotpError::Label(e.to_string()))?;
        Ok(Self { inner })
    }

    /// The secret in base 32 without padding (RFC 4648), for manual entry in an app.
    pub fn secret_base32(&self) -> String {
        self.inner.get_secret_base32()
    }

    /// The `otpauth://totp/<issuer>:<account>?secret=…&issuer=…` URI (Google Authenticator's
    /// key URI format) that apps read from a QR code.
    pub fn otpauth_uri(&self) -> String {
        self.inner.get_url()
    }

    /// The time step of a Unix time (seconds / 30).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::Totp;
    ///
    /// assert_eq!(Totp::step_at(59), 1);
    /// ```
    pub fn step_at(unix_seconds: u64) -> u64 {
        unix_seconds / TOTP_PERIOD_SECONDS
    }

    /// The code for the step containing `unix_seconds` (what the app shows then).
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.inner.generate(unix_seconds)
    }

    /// The step that `code` belongs to, among the step of `unix_seconds` and one step either
    /// side, skipping every step at or before `last_accepted` — or `None`: a wrong code, a
    /// code that is not exactly 6 ASCII digits, or a code already used. Comparisons are
    /// constant-time.
    pub fn verify(&self, code: &str, unix_seconds: u64, last_accepted: Option<u64>) -> Option<u64> {
        if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = Self::step_at(unix_seconds);
        let mut matched = None;
        for step in [now.saturating_sub(1), now, now + 1] {
            if last_accepted.is_some_and(|last| step <= last) {
                continue;
            }
            let expected = self.inner.generate(step * TOTP_PERIOD_SECONDS);
            if crate::constant_time_eq(expected.as_bytes(), code.as_bytes()) && matched.is_none() {
                matched = Some(step);
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows, last 6 digits (the key is "12345678901234567890").
    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        let totp = Totp::new(secret, "t", "a").unwrap();
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(totp.code_at(time), code, "T = {time}");
            assert_eq!(totp.verify(code, time, None), Some(Totp::step_at(time)));
        }
    }

    #[test]
    fn malformed_codes_are_refused_before_any_comparison() {
        let totp = Totp::new(TotpSecret::generate(), "t", "a").unwrap();
        let now = 1_700_000_000;
        let code = totp.code_at(now);
        for bad in [
            format!(" {code}"),
            format!("{code} "),
            code[..5].to_owned(),
            format!("{code}0"),
            "12345a".to_owned(),
            "１２３４５６".to_owned(),
        ] {
            assert_eq!(totp.verify(&bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn a_recorded_step_refuses_its_code_and_every_earlier_one() {
        let totp = Totp::new(TotpSecret::generate(), "t", "a").unwrap();
        let now = 1_700_000_000;
        let next = totp.code_at(now + 30);
        let step = totp.verify(&next, now, None).unwrap();
        assert_eq!(step, Totp::step_at(now) + 1);
        assert_eq!(totp.verify(&totp.code_at(now), now, Some(step)), None);
        assert_eq!(totp.verify(&next, now, Some(step)), None);
    }
}
