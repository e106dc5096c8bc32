//! The mail section of the settings: `SMTP_URL`, `MAIL_FROM`, `PUBLIC_URL`, the link
//! lifetimes, `EMAIL_VERIFICATION` and the outbox worker's pace.
//!
//! **Which settings count as "a mail feature is on"**: `EMAIL_VERIFICATION=required`,
//! `PASSWORD_RESET=true` or `MAGIC_LINKS=true`. The last two default to on in development and
//! whenever `SMTP_URL` is set, and to off with `APP_ENV=production` without `SMTP_URL` (their
//! routes are then not mounted). Production refuses to start when a mail feature is on and
//! `SMTP_URL`, `MAIL_FROM` or `PUBLIC_URL` is missing.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};

use crate::configuration::env::{ConfigError, Environment};

/// `EMAIL_VERIFICATION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailVerification {
    /// Every address counts as verified; signup is v1's (`201`, `409`).
    #[default]
    Off,
    /// Signup answers `202` and mails a link; login waits for the address to be confirmed.
    Required,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://`: plain text (loopback or a trusted network only).
    Plain,
    /// `smtp://…?tls=starttls`: upgraded with STARTTLS (required, never opportunistic).
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// `SMTP_URL`, parsed: `smtp://[user:pass@]host:port`, `smtps://…`, `?tls=starttls`. `Debug`
/// never shows the user or the password.
#[derive(Clone)]
pub struct SmtpUrl {
    /// The server's host name or address.
    pub host: String,
    /// Its port (default 25 for `smtp`, 587 with STARTTLS, 465 for `smtps`).
    pub port: u16,
    /// Plain, STARTTLS or TLS.
    pub security: SmtpSecurity,
    /// `user:pass`, percent-decoded.
    pub credentials: Option<(String, SecretString)>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl SmtpUrl {
    /// Parses `SMTP_URL`; the error never quotes the value (it may hold a password).
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |message: &str| ConfigError::Key {
            name: "SMTP_URL",
            message: message.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("must look like smtp://[user:pass@]host:port or smtps://…"))?;
        let (authority, query) = match rest.split_once('?') {
            Some((authority, query)) => (authority.trim_end_matches('/'), Some(query)),
            None => (rest.trim_end_matches('/'), None),
        };
        let mut security = match scheme {
            "smtp" => SmtpSecurity::Plain,
            "smtps" => SmtpSecurity::Tls,
            _ => return Err(invalid("the scheme must be smtp or smtps")),
        };
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            match pair {
                "tls=starttls" | "tls=required" if security == SmtpSecurity::Plain => {
                    security = SmtpSecurity::StartTls
                }
                "tls=none" | "" if security == SmtpSecurity::Plain => {}
                _ => return Err(invalid("the only query is ?tls=starttls (on smtp://)")),
            }
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        if hostport.contains(['/', ' ', '\r', '\n']) || hostport.is_empty() {
            return Err(invalid("the host is missing or has a path"));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || hostport.starts_with('[') => (
                host.to_owned(),
                Some(
                    port.parse::<u16>()
                        .map_err(|_| invalid("the port is not a number"))?,
                ),
            ),
            _ => (hostport.to_owned(), None),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        let port = port.unwrap_or(match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        });
        let credentials = match userinfo {
            None => None,
            Some(userinfo) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Some((
                    percent_decode(user).ok_or_else(|| invalid("the user is not valid"))?,
                    SecretString::from(
                        percent_decode(pass).ok_or_else(|| invalid("the password is not valid"))?,
                    ),
                ))
            }
        };
        Ok(Self {
            host,
            port,
            security,
            credentials,
        })
    }

    /// `host:port`, for logs.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The password, to hand to the SMTP client.
    pub(crate) fn password(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(user, pass)| (user.as_str(), pass.expose_secret()))
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (!decoded.chars().any(char::is_control)).then_some(decoded)
}

/// The mail settings. See `.env.example` for each variable.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `SMTP_URL` (`None`: development writes mails to the log).
    pub smtp_url: Option<SmtpUrl>,
    /// `MAIL_FROM`: the sender, `Name <address>` or a bare address.
    pub from: Mailbox,
    /// Whether `MAIL_FROM` was set.
    pub from_given: bool,
    /// `PUBLIC_URL`: the base of every link in a mail (no trailing `/`).
    pub public_url: String,
    /// Whether `PUBLIC_URL` was set.
    pub public_url_given: bool,
    /// `MAIL_RESEND_SECONDS`: at most one mail of each kind per address per this interval.
    pub resend_interval: Duration,
    /// `PASSWORD_RESET_TTL_SECONDS`.
    pub password_reset_ttl: Duration,
    /// `MAGIC_LINK_TTL_SECONDS`.
    pub magic_link_ttl: Duration,
    /// `EMAIL_VERIFY_TTL_SECONDS`.
    pub email_verify_ttl: Duration,
    /// `EMAIL_VERIFICATION`.
    pub email_verification: EmailVerification,
    /// `PASSWORD_RESET`: mount `/password/forgot` and `/password/reset`.
    pub password_reset: bool,
    /// `MAGIC_LINKS`: mount `/login/email` and `/login/email/verify`.
    pub magic_links: bool,
    /// Whether `PASSWORD_RESET` or `MAGIC_LINKS` was set to `true` explicitly.
    pub explicitly_on: Vec<&'static str>,
    /// `MAIL_POLL_SECONDS`: how often the outbox worker looks for mails queued by other
    /// instances (this instance's own are sent at once).
    pub poll_interval: Duration,
    /// `MAIL_RETRY_MAX_SECONDS`: the longest wait between two tries of a mail.
    pub retry_max: Duration,
    /// `MAIL_MAX_ATTEMPTS`: tries the SMTP server refuses before a mail is given up.
    pub max_attempts: u32,
    /// `SMTP_TIMEOUT_SECONDS`: the longest one SMTP command may take.
    pub smtp_timeout: Duration,
}

impl MailSettings {
    /// Reads the section through `get` (trimmed values; `None` when unset or empty).
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        environment: Environment,
        bind_port: u16,
    ) -> Result<Self, ConfigError> {
        let seconds =
            |name: &'static str, default: u64, min: u64| -> Result<Duration, ConfigError> {
                match get(name) {
                    None => Ok(Duration::from_secs(default)),
                    Some(value) => match value.parse::<u64>() {
                        Ok(n) if n >= min && n <= u64::from(u32::MAX) => Ok(Duration::from_secs(n)),
                        _ => Err(ConfigError::Invalid {
                            name,
                            value,
                            expected: if min == 0 {
                                "a number of seconds (0 or more)"
                            } else {
                                "a positive number of seconds"
                            },
                        }),
                    },
                }
            };
        let flag = |name: &'static str| -> Result<Option<bool>, ConfigError> {
            get(name)
                .map(|value| {
                    bool::from_str(&value.to_ascii_lowercase()).map_err(|_| ConfigError::Invalid {
                        name,
                        value,
                        expected: "true or false",
                    })
                })
                .transpose()
        };
        let smtp_url = get("SMTP_URL")
            .map(|url| SmtpUrl::parse(&url))
            .transpose()?;
        let from_given = get("MAIL_FROM").is_some();
        let from = match get("MAIL_FROM") {
            None => Mailbox::from_str("passport-server <no-reply@localhost>").map_err(|_| {
                ConfigError::Key {
                    name: "MAIL_FROM",
                    message: "the default does not parse".to_owned(),
                }
            })?,
            Some(value) => parse_from(&value)?,
        };
        let public_url_given = get("PUBLIC_URL").is_some();
        let public_url = match get("PUBLIC_URL") {
            None => format!("http://localhost:{bind_port}"),
            Some(value) => parse_public_url(&value)?,
        };
        let email_verification = match get("EMAIL_VERIFICATION").as_deref() {
            None | Some("off") => EmailVerification::Off,
            Some("required") => EmailVerification::Required,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "EMAIL_VERIFICATION",
                    value: other.to_owned(),
                    expected: "off or required",
                });
            }
        };
        let default_on = smtp_url.is_some() || environment == Environment::Development;
        let (reset_flag, magic_flag) = (flag("PASSWORD_RESET")?, flag("MAGIC_LINKS")?);
        let mut explicitly_on = Vec::new();
        if reset_flag == Some(true) {
            explicitly_on.push("PASSWORD_RESET=true");
        }
        if magic_flag == Some(true) {
            explicitly_on.push("MAGIC_LINKS=true");
        }
        let max_attempts = match get("MAIL_MAX_ATTEMPTS") {
            None => 10,
            Some(value) => match value.parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(ConfigError::Invalid {
                        name: "MAIL_MAX_ATTEMPTS",
                        value,
                        expected: "a positive integer",
                    });
                }
            },
        };
        Ok(Self {
            smtp_url,
            from,
            from_given,
            public_url,
            public_url_given,
            resend_interval: seconds("MAIL_RESEND_SECONDS", 60, 0)?,
            password_reset_ttl: seconds("PASSWORD_RESET_TTL_SECONDS", 3600, 1)?,
            magic_link_ttl: seconds("MAGIC_LINK_TTL_SECONDS", 900, 1)?,
            email_verify_ttl: seconds("EMAIL_VERIFY_TTL_SECONDS", 86_400, 1)?,
            email_verification,
            password_reset: reset_flag.unwrap_or(default_on),
            magic_links: magic_flag.unwrap_or(default_on),
            explicitly_on,
            poll_interval: seconds("MAIL_POLL_SECONDS", 2, 1)?,
            retry_max: seconds("MAIL_RETRY_MAX_SECONDS", 15, 1)?,
            max_attempts,
            smtp_timeout: seconds("SMTP_TIMEOUT_SECONDS", 10, 1)?,
        })
    }

    /// Whether any mail feature is on (see the module docs).
    pub fn any_feature_on(&self) -> bool {
        self.email_verification == EmailVerification::Required
            || self.password_reset
            || self.magic_links
    }

    /// The production rules of this section, one line each.
    pub fn problems(&self, environment: Environment) -> Vec<String> {
        if environment != Environment::Production || !self.any_feature_on() {
            return Vec::new();
        }
        let mut on: Vec<&str> = self.explicitly_on.clone();
        if self.email_verification == EmailVerification::Required {
            on.push("EMAIL_VERIFICATION=required");
        }
        if on.is_empty() {
            on.push("PASSWORD_RESET and MAGIC_LINKS (on by default with SMTP_URL)");
        }
        let features = on.join(", ");
        let mut problems = Vec::new();
        if self.smtp_url.is_none() {
            problems.push(format!(
                "SMTP_URL must be set with APP_ENV=production when a mail feature is on ({features}); \
                 without it mails would only be written to the log"
            ));
        }
        if !self.public_url_given {
            problems.push(format!(
                "PUBLIC_URL must be set with APP_ENV=production when a mail feature is on ({features}): \
                 it is the base of every link in a mail"
            ));
        }
        if !self.from_given {
            problems.push(format!(
                "MAIL_FROM must be set with APP_ENV=production when a mail feature is on ({features})"
            ));
        }
        problems
    }
}

/// `MAIL_FROM`: one mailbox, with no CR, LF or other control character (header injection).
fn parse_from(value: &str) -> Result<Mailbox, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name: "MAIL_FROM",
        value: value.escape_debug().to_string(),
        expected: "one address, e.g. Passport <no-reply@example.com> (no line breaks)",
    };
    if value.chars().any(char::is_control) || value.len() > 320 {
        return Err(invalid());
    }
    Mailbox::from_str(value).map_err(|_| invalid())
}

/// `PUBLIC_URL`: `http(s)://host[:port][/path]`, without query, fragment or trailing `/`.
fn parse_public_url(value: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name: "PUBLIC_URL",
        value: value.escape_debug().to_string(),
        expected: "an http(s) URL such as https://auth.example.com (no query or fragment)",
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    if rest.is_empty()
        || value.len() > 512
        || rest.starts_with('/')
        || value.chars().any(|c| c.is_control() || c.is_whitespace())
        || value.contains(['?', '#', '@'])
    {
        return Err(invalid());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)], environment: Environment) -> Result<MailSettings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        MailSettings::from_lookup(&|name| map.get(name).cloned(), environment, 3000)
    }

    #[test]
    fn smtp_urls_parse_and_never_show_their_credentials() {
        let url = SmtpUrl::parse("smtp://ada:p%40ss@mail.example:2525?tls=starttls").unwrap();
        assert_eq!(url.address(), "mail.example:2525");
        assert_eq!(url.security, SmtpSecurity::StartTls);
        assert_eq!(url.password(), Some(("ada", "p@ss")));
        let debug = format!("{url:?}");
        assert!(!debug.contains("p@ss") && !debug.contains("ada"), "{debug}");
        let tls = SmtpUrl::parse("smtps://mail.example").unwrap();
        assert_eq!((tls.port, tls.security), (465, SmtpSecurity::Tls));
        assert_eq!(
            SmtpUrl::parse("smtp://127.0.0.1:25").unwrap().security,
            SmtpSecurity::Plain
        );
        for bad in [
            "http://x",
            "smtp://",
            "smtp://h:port",
            "smtps://h?tls=starttls",
            "smtp://h?x=1",
        ] {
            let err = SmtpUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains("SMTP_URL"), "{bad}: {err}");
        }
        let err = SmtpUrl::parse("ftp://ada:hunter2@h")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn header_injection_through_mail_from_is_refused() {
        for bad in ["a@b.co\r\nBcc: x@y.z", "a@b.co\nX: y", "not an address"] {
            assert!(
                read(&[("MAIL_FROM", bad)], Environment::Development).is_err(),
                "{bad:?}"
            );
        }
        let ok = read(
            &[("MAIL_FROM", "Passport <no-reply@example.com>")],
            Environment::Development,
        );
        assert_eq!(ok.unwrap().from.email.to_string(), "no-reply@example.com");
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = read(&[], Environment::Development).unwrap();
        assert_eq!(s.resend_interval, Duration::from_secs(60));
        assert_eq!(s.password_reset_ttl, Duration::from_secs(3600));
        assert_eq!(s.magic_link_ttl, Duration::from_secs(900));
        assert_eq!(s.email_verify_ttl, Duration::from_secs(86_400));
        assert_eq!(s.email_verification, EmailVerification::Off);
        assert!(s.password_reset && s.magic_links);
        assert!(s.problems(Environment::Development).is_empty());
        assert!(read(&[("EMAIL_VERIFICATION", "maybe")], Environment::Development).is_err());
        assert!(
            read(
                &[("PUBLIC_URL", "https://a.example/?x")],
                Environment::Development
            )
            .is_err()
        );
    }

    #[test]
    fn production_without_smtp_turns_mail_off_unless_asked_and_then_refuses() {
        let quiet = read(&[], Environment::Production).unwrap();
        assert!(!quiet.any_feature_on());
        assert!(quiet.problems(Environment::Production).is_empty());
        for on in [
            ("EMAIL_VERIFICATION", "required"),
            ("PASSWORD_RESET", "true"),
            ("MAGIC_LINKS", "true"),
        ] {
            let s = read(&[on], Environment::Production).unwrap();
            let problems = s.problems(Environment::Production);
            assert!(
                problems.iter().any(|p| p.starts_with("SMTP_URL")),
                "{on:?}: {problems:?}"
            );
        }
        let full = read(
            &[
                ("SMTP_URL", "smtp://127.0.0.1:2525"),
                ("PUBLIC_URL", "https://auth.example.com"),
                ("MAIL_FROM", "no-reply@example.com"),
            ],
            Environment::Production,
        )
        .unwrap();
        assert!(full.any_feature_on());
        assert!(full.problems(Environment::Production).is_empty());
    }
}
