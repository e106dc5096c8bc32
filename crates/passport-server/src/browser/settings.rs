//! The session cookie's section (`SESSION_COOKIE_NAME`, `SESSION_COOKIE_SECURE`), and what
//! the routes and the session strategy are built with: the cookie and the cross-site
//! protection ([`Browser`]).

use std::time::Duration;

use passport_actix::CrossOriginProtection;
use passport_actix::session::SessionCookie;

use crate::configuration::cors::CorsSettings;
use crate::configuration::env::{ConfigError, Environment};

/// The name under which the cookie strategy is registered (`Info::strategy` of a request it
/// authenticated).
pub const SESSION_STRATEGY: &str = "session";

/// `SESSION_COOKIE_NAME` and `SESSION_COOKIE_SECURE`.
#[derive(Debug, Clone)]
pub struct SessionCookieSettings {
    /// `SESSION_COOKIE_SECURE`: send the cookie over HTTPS only (default: true with
    /// `APP_ENV=production`, false otherwise).
    pub secure: bool,
    /// `SESSION_COOKIE_NAME` (default `__Host-passport_session` with `Secure`, else
    /// `passport_session`).
    pub name: String,
}

impl SessionCookieSettings {
    /// Reads the section through `lookup` (trimmed; empty means unset).
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        environment: Environment,
    ) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secure = match get("SESSION_COOKIE_SECURE").as_deref() {
            None => environment == Environment::Production,
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "SESSION_COOKIE_SECURE",
                    value: other.to_owned(),
                    expected: "true or false",
                });
            }
        };
        let cookie = SessionCookie::new(secure);
        let cookie = match get("SESSION_COOKIE_NAME") {
            None => cookie,
            Some(name) => cookie.name(&name).map_err(|e| ConfigError::Invalid {
                name: "SESSION_COOKIE_NAME",
                value: name.clone(),
                expected: match e.why {
                    why if why.contains("prefix") => {
                        "a name without the __Host-/__Secure- prefix, or SESSION_COOKIE_SECURE=true"
                    }
                    _ => "a cookie name: letters, digits or !#$%&'*+-.^_`|~",
                },
            })?,
        };
        Ok(Self {
            secure,
            name: cookie.cookie_name().to_owned(),
        })
    }
}

/// What the routes need for browser sessions.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The cookie's name and attributes (`Max-Age` = `SESSION_TTL_SECONDS`).
    pub cookie: SessionCookie,
    /// Trusts the request's own host and `CORS_ALLOWED_ORIGINS`.
    pub protection: CrossOriginProtection,
}

impl Browser {
    /// From the sections (already validated): the cookie lives as long as a session
    /// (`session_ttl`), and the cross-site guard trusts `cors`'s origins.
    pub fn new(
        cookie: &SessionCookieSettings,
        session_ttl: Duration,
        cors: &CorsSettings,
    ) -> anyhow::Result<Self> {
        let cookie = SessionCookie::new(cookie.secure)
            .name(&cookie.name)?
            .max_age(session_ttl);
        let protection = cors
            .allowed_origins
            .iter()
            .try_fold(CrossOriginProtection::new(), |p, origin| {
                p.trust_origin(origin)
            })?;
        Ok(Self { cookie, protection })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secure_default_follows_app_env() {
        let read = |vars: &[(&str, &str)], env| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            SessionCookieSettings::from_lookup(
                &move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
                env,
            )
        };
        let dev = read(&[], Environment::Development).unwrap();
        assert_eq!((dev.secure, dev.name.as_str()), (false, "passport_session"));
        let prod = read(&[], Environment::Production).unwrap();
        assert_eq!(
            (prod.secure, prod.name.as_str()),
            (true, "__Host-passport_session")
        );
        let named = read(
            &[
                ("SESSION_COOKIE_SECURE", "true"),
                ("SESSION_COOKIE_NAME", "sid"),
            ],
            Environment::Development,
        )
        .unwrap();
        assert_eq!((named.secure, named.name.as_str()), (true, "sid"));
        assert!(
            read(
                &[("SESSION_COOKIE_SECURE", "maybe")],
                Environment::Development
            )
            .is_err()
        );
        assert!(
            read(
                &[("SESSION_COOKIE_NAME", "__Host-x")],
                Environment::Development
            )
            .is_err()
        );
        assert!(read(&[("SESSION_COOKIE_NAME", "a b")], Environment::Development).is_err());
    }
}
