//! Normalizing and validating email addresses used as usernames.

use std::str::FromStr;

use actix_web::http::StatusCode;
use email_address::EmailAddress;

use crate::outcome::{Failure, FailureKind};

/// The longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Trims and lower-cases an email address and checks its syntax.
///
/// Failures are `422 invalid_email` with a reason.
///
/// # Examples
///
/// ```
/// use passport_actix::local::normalize_email;
///
/// assert_eq!(normalize_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
/// assert_eq!(normalize_email("not-an-email").unwrap_err().status(), 422);
/// ```
pub fn normalize_email(raw: &str) -> Result<String, Failure> {
    let invalid = |message: &'static str| {
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", message)
            .kind(FailureKind::InvalidRequest)
    };
    let email = raw.trim().to_lowercase();
    if email.len() > MAX_EMAIL_LEN {
        return Err(invalid("The email address is longer than 254 characters"));
    }
    if email.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "The email address must not contain spaces or control characters",
        ));
    }
    let parsed =
        EmailAddress::from_str(&email).map_err(|_| invalid("The email address is not valid"))?;
    if !parsed.domain().contains('.') || parsed.domain().starts_with('[') {
        return Err(invalid(
            "The email address needs a domain name such as example.com",
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "a",
            "a@",
            "@b.co",
            "a@b",
            "a b@c.co",
            "a\0@b.co",
            "a@[127.0.0.1]",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(normalize_email(&format!("{}@b.co", "a".repeat(260))).is_err());
    }

    #[test]
    fn case_and_whitespace_do_not_make_a_new_address() {
        assert_eq!(
            normalize_email("A@B.CO").unwrap(),
            normalize_email(" a@b.co\t").unwrap()
        );
    }
}
