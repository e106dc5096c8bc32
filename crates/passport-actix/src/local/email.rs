//! Normalizing and validating email addresses used as usernames.

use std::str::FromStr;

use actix_web::http::StatusCode;
use email_address::EmailAddress;
use unicode_normalization::UnicodeNormalization;

use crate::outcome::{Failure, FailureKind};

/// The longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Normalizes an email address and checks its syntax, so that look-alike spellings of one
/// address are one account.
///
/// 1. Trim, then Unicode NFKC on the whole address (fullwidth `ＡＢＣ＠ｅｘａｍｐｌｅ.com`
///    becomes `ABC@example.com`; compatibility characters fold to their plain form).
/// 2. The local part (before the last `@`) is lower-cased. A quoted local part whose content
///    needs no quoting is unquoted (`"abc"@example.com` is `abc@example.com`, RFC 5321 §4.1.2);
///    one that needs its quotes (spaces, `@`, backslashes …) is refused.
/// 3. The domain goes through IDNA (UTS #46, non-transitional) to its ASCII form: it is
///    lower-cased, and `exämple.com` is stored as `xn--exmple-cua.com`.
///
/// Failures are `422 invalid_email` with a reason.
///
/// # Examples
///
/// ```
/// use passport_actix::local::normalize_email;
///
/// assert_eq!(normalize_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
/// assert_eq!(normalize_email("ＡＤＡ@ｅｘａｍｐｌｅ.com").unwrap(), "ada@example.com");
/// assert_eq!(normalize_email("ada@exämple.com").unwrap(), "ada@xn--exmple-cua.com");
/// assert_eq!(normalize_email("\"ada\"@example.com").unwrap(), "ada@example.com");
/// assert_eq!(normalize_email("not-an-email").unwrap_err().status(), 422);
/// ```
pub fn normalize_email(raw: &str) -> Result<String, Failure> {
    let invalid = |message: &'static str| {
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", message)
            .with_kind(FailureKind::InvalidRequest)
    };
    // Bound the work before normalizing (NFKC can expand a string, but not without limit).
    if raw.len() > 4 * MAX_EMAIL_LEN {
        return Err(invalid("The email address is longer than 254 characters"));
    }
    let nfkc: String = raw.trim().nfkc().collect();
    if nfkc.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "The email address must not contain spaces or control characters",
        ));
    }
    let Some((local, domain)) = nfkc.rsplit_once('@') else {
        return Err(invalid("The email address is not valid"));
    };
    let local = unquote(&local.to_lowercase())
        .ok_or_else(|| invalid("Quoted local parts that need their quotes are not accepted"))?;
    let domain = idna::domain_to_ascii(domain)
        .map_err(|_| invalid("The email address has an invalid domain name"))?;
    let email = format!("{local}@{domain}");
    if email.len() > MAX_EMAIL_LEN {
        return Err(invalid("The email address is longer than 254 characters"));
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

/// A local part without redundant quotes; `None` when its quotes are needed.
fn unquote(local: &str) -> Option<String> {
    let Some(inner) = local
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return Some(local.to_owned());
    };
    let is_atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = !inner.is_empty()
        && inner
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext));
    dot_atom.then(|| inner.to_owned())
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
    fn look_alike_spellings_are_one_address() {
        let plain = normalize_email("abc@example.com").unwrap();
        for alike in [
            "ＡＢＣ@example.com",
            "abc@ｅｘａｍｐｌｅ.com",
            "ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "\"abc\"@example.com",
            "ABC@EXAMPLE.COM.",
        ] {
            let normalized = normalize_email(alike);
            if alike.ends_with('.') {
                // A trailing root dot is not a different address either way: refused or folded.
                assert!(
                    normalized.as_ref().map_or(true, |e| e == &plain),
                    "{alike:?}"
                );
                continue;
            }
            assert_eq!(normalized.unwrap(), plain, "{alike:?}");
        }
        assert_eq!(
            normalize_email("abc@exämple.com").unwrap(),
            normalize_email("abc@xn--exmple-cua.com").unwrap()
        );
        assert_eq!(
            normalize_email("abc@EXÄMPLE.com").unwrap(),
            "abc@xn--exmple-cua.com"
        );
    }

    #[test]
    fn quoted_local_parts_that_need_their_quotes_are_refused() {
        for bad in [
            "\"a b\"@example.com",
            "\"a@b\"@example.com",
            "\"a..b\"@example.com",
            "\"\"@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn case_and_whitespace_do_not_make_a_new_address() {
        assert_eq!(
            normalize_email("A@B.CO").unwrap(),
            normalize_email(" a@b.co\t").unwrap()
        );
    }
}
