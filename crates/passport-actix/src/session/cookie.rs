//! `SessionCookie`: the typed settings of a browser session cookie, and the cookies to set
//! and to clear.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::COOKIE;

/// The default name of a session cookie without `Secure` (plain-HTTP development).
pub const DEFAULT_COOKIE_NAME: &str = "passport_session";
/// The default name with `Secure`: the `__Host-` prefix makes browsers refuse the cookie
/// unless it is `Secure`, `Path=/` and has no `Domain` — so no sibling sub-domain can plant or
/// overwrite it (cookie tossing).
pub const DEFAULT_SECURE_COOKIE_NAME: &str = "__Host-passport_session";

/// How a browser session cookie is named and which attributes it carries.
///
/// The attributes are fixed to the safe choice: `HttpOnly` (scripts cannot read it),
/// `SameSite=Lax` (not sent on cross-site sub-requests and form posts), `Path=/`, no `Domain`
/// (this host only), and `Secure` when [`secure`](Self::new) — with the `__Host-` name by
/// default then. Only the name, `Secure` and the lifetime are settings.
///
/// [`issue`](Self::issue) is the `Set-Cookie` of a login, [`clear`](Self::clear) the one of a
/// logout (same name, path and attributes, empty value, `Max-Age=0`), and
/// [`presented`](Self::presented) reads what a request carries.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::session::{RefreshToken, SessionCookie};
///
/// let cookie = SessionCookie::new(true).max_age(Duration::from_secs(3600));
/// assert_eq!(cookie.cookie_name(), "__Host-passport_session");
/// let value = RefreshToken::generate(); // 256 bits from the CSPRNG; store only value.hash()
/// let set = cookie.issue(value.as_str()).to_string();
/// assert!(set.starts_with("__Host-passport_session="));
/// for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=3600", "Secure"] {
///     assert!(set.contains(attribute), "{set}");
/// }
/// assert!(cookie.clear().to_string().contains("Max-Age=0"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
    secure: bool,
    max_age: Duration,
}

/// What a request carries under the session cookie's name.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::session::{Presented, SessionCookie};
///
/// let cookie = SessionCookie::new(false);
/// let req = TestRequest::get().insert_header(("cookie", "passport_session=abc; theme=dark")).to_http_request();
/// assert_eq!(cookie.presented(&req), Presented::One("abc".into()));
/// let twice = TestRequest::get().insert_header(("cookie", "passport_session=a; passport_session=b")).to_http_request();
/// assert_eq!(cookie.presented(&twice), Presented::Many);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// No cookie of that name (or only empty ones).
    None,
    /// Exactly one value (the same value sent twice counts as one).
    One(String),
    /// Several different values: which one the browser meant cannot be known.
    Many,
}

/// Why a cookie name was refused.
///
/// # Examples
///
/// ```
/// use passport_actix::session::SessionCookie;
///
/// assert!(SessionCookie::new(false).name("__Host-sid").is_err(), "__Host- needs Secure");
/// assert!(SessionCookie::new(true).name("bad name").is_err());
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid session cookie name {name:?}: {why}")]
pub struct InvalidCookieName {
    /// The name given.
    pub name: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl SessionCookie {
    /// The default settings: named [`DEFAULT_SECURE_COOKIE_NAME`] with `secure`, else
    /// [`DEFAULT_COOKIE_NAME`]; a lifetime of 30 days (set it to the session's).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::SessionCookie;
    ///
    /// assert_eq!(SessionCookie::new(false).cookie_name(), "passport_session");
    /// assert!(SessionCookie::new(true).is_secure());
    /// ```
    pub fn new(secure: bool) -> Self {
        let name = if secure {
            DEFAULT_SECURE_COOKIE_NAME
        } else {
            DEFAULT_COOKIE_NAME
        };
        Self {
            name: name.to_owned(),
            secure,
            max_age: super::DEFAULT_SESSION_TTL,
        }
    }

    /// Another name: an RFC 6265 token; `__Host-` and `__Secure-` names need `Secure`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::SessionCookie;
    ///
    /// let cookie = SessionCookie::new(true).name("__Host-myapp").unwrap();
    /// assert_eq!(cookie.cookie_name(), "__Host-myapp");
    /// ```
    pub fn name(mut self, name: &str) -> Result<Self, InvalidCookieName> {
        let invalid = |why| InvalidCookieName {
            name: name.to_owned(),
            why,
        };
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || name.len() > 128 || !name.bytes().all(token) {
            return Err(invalid("use 1 to 128 letters, digits or !#$%&'*+-.^_`|~"));
        }
        let prefixed = name.starts_with("__Host-") || name.starts_with("__Secure-");
        if prefixed && !self.secure {
            return Err(invalid("the __Host- and __Secure- prefixes require Secure"));
        }
        self.name = name.to_owned();
        Ok(self)
    }

    /// Sets the cookie's `Max-Age` (whole seconds).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::session::SessionCookie;
    ///
    /// let cookie = SessionCookie::new(false).max_age(Duration::from_secs(600));
    /// assert_eq!(cookie.max_age_seconds(), 600);
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The cookie's name.
    pub fn cookie_name(&self) -> &str {
        &self.name
    }

    /// Whether the cookie is `Secure` (sent over HTTPS only).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The `Max-Age` in seconds.
    pub fn max_age_seconds(&self) -> i64 {
        i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX)
    }

    /// The cookie that hands `value` to the browser (a login).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::SessionCookie;
    ///
    /// let set = SessionCookie::new(false).issue("v").to_string();
    /// assert!(set.starts_with("passport_session=v;") && !set.contains("Secure"), "{set}");
    /// ```
    pub fn issue(&self, value: &str) -> Cookie<'static> {
        self.build(value.to_owned(), self.max_age_seconds())
    }

    /// The cookie that makes the browser forget it (a logout): empty, `Max-Age=0`, same
    /// name and attributes.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::SessionCookie;
    ///
    /// let clear = SessionCookie::new(false).clear().to_string();
    /// assert!(clear.starts_with("passport_session=;") && clear.contains("Max-Age=0"), "{clear}");
    /// ```
    pub fn clear(&self) -> Cookie<'static> {
        self.build(String::new(), 0)
    }

    fn build(&self, value: String, max_age: i64) -> Cookie<'static> {
        Cookie::build(self.name.clone(), value)
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(self.secure)
            .max_age(actix_web::cookie::time::Duration::seconds(max_age))
            .finish()
    }

    /// The session cookie the request carries. Every `Cookie` header is read leniently, one
    /// `name=value` pair at a time, so a malformed neighbour cookie changes nothing; values are
    /// taken as sent (no percent-decoding: a value this crate issues is base64url).
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::session::{Presented, SessionCookie};
    ///
    /// let cookie = SessionCookie::new(false);
    /// let none = TestRequest::get().insert_header(("cookie", "other=1; ;=;junk")).to_http_request();
    /// assert_eq!(cookie.presented(&none), Presented::None);
    /// let empty = TestRequest::get().insert_header(("cookie", "passport_session=")).to_http_request();
    /// assert_eq!(cookie.presented(&empty), Presented::None);
    /// ```
    pub fn presented(&self, req: &HttpRequest) -> Presented {
        let mut found: Option<&[u8]> = None;
        for header in req.headers().get_all(COOKIE) {
            for pair in header.as_bytes().split(|b| *b == b';') {
                let pair = pair.trim_ascii();
                let Some(eq) = pair.iter().position(|b| *b == b'=') else {
                    continue;
                };
                let (name, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
                let value = value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(value);
                if name != self.name.as_bytes() || value.is_empty() {
                    continue;
                }
                match found {
                    Some(seen) if seen != value => return Presented::Many,
                    _ => found = Some(value),
                }
            }
        }
        match found {
            None => Presented::None,
            Some(value) => Presented::One(String::from_utf8_lossy(value).into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn attributes_are_the_safe_ones() {
        let plain = SessionCookie::new(false)
            .max_age(Duration::from_secs(60))
            .issue("abc");
        assert_eq!(plain.name(), "passport_session");
        assert_eq!(plain.http_only(), Some(true));
        assert_eq!(plain.same_site(), Some(SameSite::Lax));
        assert_eq!(plain.path(), Some("/"));
        assert_eq!(plain.secure(), Some(false));
        assert_eq!(plain.domain(), None);
        let secure = SessionCookie::new(true).clear();
        assert_eq!(secure.name(), "__Host-passport_session");
        assert_eq!(secure.secure(), Some(true));
        assert_eq!(secure.value(), "");
        assert!(secure.to_string().contains("Max-Age=0"));
    }

    #[test]
    fn presented_values_are_read_leniently() {
        let cookie = SessionCookie::new(false);
        let read = |header: &str| {
            let req = TestRequest::get()
                .insert_header(("cookie", header))
                .to_http_request();
            cookie.presented(&req)
        };
        assert_eq!(
            read("a=1; passport_session=v; b"),
            Presented::One("v".into())
        );
        assert_eq!(read("passport_session=\"v\""), Presented::One("v".into()));
        assert_eq!(
            read("passport_session=v; passport_session=v"),
            Presented::One("v".into())
        );
        assert_eq!(
            read("passport_session=v; passport_session=w"),
            Presented::Many
        );
        assert_eq!(read("Passport_Session=v"), Presented::None);
        assert_eq!(read(""), Presented::None);
        let huge = format!("passport_session={}", "x".repeat(10_000));
        assert!(matches!(read(&huge), Presented::One(v) if v.len() == 10_000));
    }

    #[test]
    fn names_are_checked() {
        assert!(SessionCookie::new(true).name("__Secure-x").is_ok());
        assert!(SessionCookie::new(false).name("__Secure-x").is_err());
        assert!(SessionCookie::new(false).name("").is_err());
        assert!(SessionCookie::new(false).name("a;b").is_err());
        assert!(SessionCookie::new(false).name("my_app.sid").is_ok());
    }
}
