//! The password policy of NIST SP 800-63B §3.1.1.2: length, a blocklist, no composition rules.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;

use crate::outcome::{Failure, FailureKind};

const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Why a new password was refused.
///
/// # Examples
///
/// ```
/// use passport_actix::local::{PasswordPolicy, PolicyViolation};
///
/// let policy = PasswordPolicy::default();
/// let violation = policy.check("ada", "ada@example.com").unwrap_err();
/// assert_eq!(violation, PolicyViolation::TooShort);
/// assert_eq!(violation.code(), "password_too_short");
/// assert_eq!(policy.failure(violation).status(), 422);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer Unicode code points than the minimum.
    TooShort,
    /// More bytes than the hasher can use (bcrypt: 72).
    TooLong,
    /// In the list of common passwords.
    TooCommon,
    /// Equal to the username (or the email's local part).
    MatchesUsername,
    /// Contains a NUL or other control character that some systems truncate at.
    ControlCharacter,
}

impl PolicyViolation {
    /// The machine code sent to the client.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::TooCommon => "password_too_common",
            Self::MatchesUsername => "password_matches_email",
            Self::ControlCharacter => "password_invalid_character",
        }
    }
}

/// Rules for new passwords. Defaults: at least 8 code points, at most the hasher's byte limit,
/// not one of the 10,000 most common passwords, not the email itself.
///
/// # Examples
///
/// ```
/// use passport_actix::local::{PasswordPolicy, PolicyViolation};
///
/// let policy = PasswordPolicy::default().max_bytes(Some(72));
/// assert_eq!(policy.check("short", "a@b.co"), Err(PolicyViolation::TooShort));
/// assert_eq!(policy.check("password1", "a@b.co"), Err(PolicyViolation::TooCommon));
/// assert_eq!(policy.check("correct horse", "a@b.co"), Ok(()));
/// ```
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
    max_bytes: Option<usize>,
    blocklist: Option<Arc<HashSet<String>>>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_bytes: None,
            blocklist: Some(common_passwords()),
        }
    }
}

fn common_passwords() -> Arc<HashSet<String>> {
    static LIST: OnceLock<Arc<HashSet<String>>> = OnceLock::new();
    Arc::clone(LIST.get_or_init(|| {
        Arc::new(
            COMMON_PASSWORDS
                .lines()
                .map(str::to_lowercase)
                .filter(|l| !l.is_empty())
                .collect(),
        )
    }))
}

impl PasswordPolicy {
    /// Sets the minimum length in Unicode code points (NIST: at least 8).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{PasswordPolicy, PolicyViolation};
    ///
    /// let policy = PasswordPolicy::default().min_chars(12);
    /// assert_eq!(policy.check("eleven chrs", "ada@example.com"), Err(PolicyViolation::TooShort));
    /// assert_eq!(policy.check("twelve chars", "ada@example.com"), Ok(()));
    /// ```
    pub fn min_chars(mut self, min: usize) -> Self {
        self.min_chars = min;
        self
    }

    /// Sets the maximum length in bytes (`None`: no limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{PasswordPolicy, PolicyViolation};
    ///
    /// let policy = PasswordPolicy::default().max_bytes(Some(16));
    /// assert_eq!(policy.max_bytes_limit(), Some(16));
    /// assert_eq!(policy.check("a rather long passphrase", "ada@example.com"), Err(PolicyViolation::TooLong));
    /// ```
    pub fn max_bytes(mut self, max: Option<usize>) -> Self {
        self.max_bytes = max;
        self
    }

    /// Replaces the blocklist (entries are compared case-insensitively).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{PasswordPolicy, PolicyViolation};
    ///
    /// let policy = PasswordPolicy::default().blocklist(["AcmeCorp2025", "acme-password"]);
    /// assert_eq!(policy.blocklist_len(), 2);
    /// assert_eq!(policy.check("acmecorp2025", "ada@example.com"), Err(PolicyViolation::TooCommon));
    /// ```
    pub fn blocklist<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, list: I) -> Self {
        self.blocklist = Some(Arc::new(
            list.into_iter()
                .map(|s| s.as_ref().to_lowercase())
                .collect(),
        ));
        self
    }

    /// The maximum length in bytes, if any.
    pub fn max_bytes_limit(&self) -> Option<usize> {
        self.max_bytes
    }

    /// Turns the blocklist off.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::PasswordPolicy;
    ///
    /// let policy = PasswordPolicy::default().without_blocklist();
    /// assert_eq!(policy.blocklist_len(), 0);
    /// assert_eq!(policy.check("password1", "ada@example.com"), Ok(()));
    /// ```
    pub fn without_blocklist(mut self) -> Self {
        self.blocklist = None;
        self
    }

    /// How many entries the blocklist holds.
    pub fn blocklist_len(&self) -> usize {
        self.blocklist.as_ref().map_or(0, |l| l.len())
    }

    /// Checks a new password for `username`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{PasswordPolicy, PolicyViolation};
    ///
    /// let policy = PasswordPolicy::default();
    /// assert_eq!(policy.check("ada.lovelace", "Ada.Lovelace@example.com"), Err(PolicyViolation::MatchesUsername));
    /// assert_eq!(policy.check("nul\0inside!", "ada@example.com"), Err(PolicyViolation::ControlCharacter));
    /// assert_eq!(policy.check("analytical engine", "ada@example.com"), Ok(()));
    /// ```
    pub fn check(&self, password: &str, username: &str) -> Result<(), PolicyViolation> {
        if password.chars().any(char::is_control) {
            return Err(PolicyViolation::ControlCharacter);
        }
        if password.chars().count() < self.min_chars {
            return Err(PolicyViolation::TooShort);
        }
        if self.max_bytes.is_some_and(|max| password.len() > max) {
            return Err(PolicyViolation::TooLong);
        }
        let lowered = password.to_lowercase();
        let local_part = username
            .rsplit_once('@')
            .map_or(username, |(local, _)| local);
        if lowered == username.to_lowercase() || lowered == local_part.to_lowercase() {
            return Err(PolicyViolation::MatchesUsername);
        }
        if self
            .blocklist
            .as_ref()
            .is_some_and(|list| list.contains(&lowered))
        {
            return Err(PolicyViolation::TooCommon);
        }
        Ok(())
    }

    /// The `422` failure for a violation, with a message that says why.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{PasswordPolicy, PolicyViolation};
    ///
    /// let failure = PasswordPolicy::default().min_chars(10).failure(PolicyViolation::TooShort);
    /// assert_eq!(failure.status(), 422);
    /// assert_eq!(failure.code(), "password_too_short");
    /// assert_eq!(failure.message(), "The password must be at least 10 characters long");
    /// ```
    pub fn failure(&self, violation: PolicyViolation) -> Failure {
        let message = match violation {
            PolicyViolation::TooShort => {
                format!(
                    "The password must be at least {} characters long",
                    self.min_chars
                )
            }
            PolicyViolation::TooLong => format!(
                "The password must be at most {} bytes long",
                self.max_bytes.unwrap_or(usize::MAX)
            ),
            PolicyViolation::TooCommon => {
                "The password is too common; choose one that is harder to guess".to_owned()
            }
            PolicyViolation::MatchesUsername => "The password must not be your email".to_owned(),
            PolicyViolation::ControlCharacter => {
                "The password must not contain control characters".to_owned()
            }
        };
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, violation.code(), message)
            .with_kind(FailureKind::InvalidRequest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_ten_thousand_common_passwords() {
        assert_eq!(PasswordPolicy::default().blocklist_len(), 10_000);
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check("ééééééé", "a@b.co"),
            Err(PolicyViolation::TooShort),
            "7 chars, 14 bytes"
        );
        assert_eq!(policy.check("éééééééé", "a@b.co"), Ok(()));
    }

    #[test]
    fn each_rule_has_its_reason() {
        let policy = PasswordPolicy::default().max_bytes(Some(72));
        assert_eq!(
            policy.check(&"x".repeat(73), "a@b.co"),
            Err(PolicyViolation::TooLong)
        );
        assert_eq!(
            policy.check("PassWord1", "a@b.co"),
            Err(PolicyViolation::TooCommon)
        );
        assert_eq!(
            policy.check("Ada@Example.com", "ada@example.com"),
            Err(PolicyViolation::MatchesUsername)
        );
        assert_eq!(
            policy.check("adalovelace", "adalovelace@example.com"),
            Err(PolicyViolation::MatchesUsername)
        );
        assert_eq!(
            policy.check("nul\0in the middle", "a@b.co"),
            Err(PolicyViolation::ControlCharacter)
        );
        assert_eq!(
            policy.failure(PolicyViolation::TooShort).status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn no_composition_rules() {
        assert_eq!(
            PasswordPolicy::default().check("all lowercase words here", "a@b.co"),
            Ok(())
        );
    }
}
