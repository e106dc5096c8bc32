//! Browser sessions (contract v3, "Browser sessions (cookie)"): the cookie settings, how a
//! login answers in cookie mode, and the cross-site guard of every request that would set
//! the cookie.
//!
//! Any login route gets cookie mode through [`crate::routes::complete_login`], which reads
//! `?session=cookie` from the request itself. A login route should still call
//! [`login_mode`] **first**, before it checks any credential, so a cross-site request that
//! would set the cookie is refused before it can count against a throttle:
//!
//! ```ignore
//! pub async fn login_mfa(req: HttpRequest, /* … */ auth: web::Data<Auth>) -> HttpResponse {
//!     if let Err(refused) = crate::browser::login_mode(&req, &auth) {
//!         return failure_response(&[refused]); // 400 bad `session`, 403 cross_origin_request
//!     }
//!     // … check the second factor, then:
//!     complete_login(&req, &auth, &audit, user, LoginMethod::Mfa).await
//! }
//! ```

pub mod settings;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, ORIGIN, PRAGMA};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::session::{IssuedCookieSession, Presented};
use passport_actix::{Authenticated, CrossOriginProtection, Failure, failure_response};
use serde_json::json;

use crate::auth::Auth;
use crate::store::User;

pub use settings::{Browser, SESSION_STRATEGY, SessionCookieSettings};

/// How a login answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// The token pair in the body (the default).
    Token,
    /// `?session=cookie`: `{"user"}` in the body and the session in an `HttpOnly` cookie.
    Cookie,
}

impl ResponseMode {
    /// The `session` query parameter: absent or `token` → token, `cookie` → cookie; anything
    /// else, or the parameter twice, is `400 invalid_request`.
    pub fn of(req: &HttpRequest) -> Result<Self, Failure> {
        let query = req.query_string();
        if !query.contains("session") && !query.contains('%') {
            return Ok(Self::Token);
        }
        let mut values = form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key == "session")
            .map(|(_, value)| value.into_owned());
        match (values.next().as_deref(), values.next()) {
            (None, _) | (Some("token"), None) => Ok(Self::Token),
            (Some("cookie"), None) => Ok(Self::Cookie),
            (Some(_), Some(_)) => Err(Failure::bad_request(
                "invalid_request",
                "The session parameter was given more than once",
            )),
            (Some(_), None) => Err(Failure::bad_request(
                "invalid_request",
                "session must be cookie (or left out for a token)",
            )),
        }
    }
}

/// The guard of every request that would set the session cookie: its [`ResponseMode`], or
/// the failure refusing it (answer it with `failure_response`) — `400` for a bad `session`
/// parameter, `403 cross_origin_request` for cookie mode from another site (login CSRF: an
/// attacker's page must not log a victim's browser into the attacker's account).
pub fn login_mode(req: &HttpRequest, auth: &Auth) -> Result<ResponseMode, Failure> {
    let mode = ResponseMode::of(req)?;
    if mode == ResponseMode::Cookie {
        auth.browser.protection.check(req)?;
    }
    Ok(mode)
}

/// The answer of a cookie login: `200 {"user":{"id","email"}}`, no token, the session in
/// `Set-Cookie`, and nothing a cache may keep.
pub fn cookie_login_response(
    browser: &Browser,
    user: &User,
    session: &IssuedCookieSession,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .cookie(browser.cookie.issue(session.cookie_value.as_str()))
        .json(json!({ "user": user }))
}

/// Whether the request was authenticated by the session cookie (not by a token).
pub fn by_cookie(user: &Authenticated<User>) -> bool {
    user.info().strategy() == Some(SESSION_STRATEGY)
}

/// Adds the `Set-Cookie` that clears the session cookie (same name and attributes,
/// `Max-Age=0`) to `response`.
pub fn clearing_cookie(browser: &Browser, mut response: HttpResponse) -> HttpResponse {
    if let Err(error) = response.add_cookie(&browser.cookie.clear()) {
        tracing::warn!(%error, "clearing the session cookie failed");
    }
    response
}

/// Middleware, outside CORS (whose own refusal of an unlisted `Origin` would otherwise come
/// first): `403 cross_origin_request` for a cross-site request that the cookie would
/// authenticate (an unsafe method on `/logout` or `/user…` carrying the session cookie and no
/// token) or that would set it (`?session=cookie` on a `/login…` route). The session strategy
/// and [`login_mode`] apply the same rule again further in.
pub async fn cross_site_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let headers = req.headers();
    let browser_said = headers.contains_key(ORIGIN) || headers.contains_key("sec-fetch-site");
    let refused = browser_said
        && req.app_data::<web::Data<Auth>>().is_some_and(|auth| {
            would_use_or_set_cookie(req.request(), &auth.browser)
                && auth.browser.protection.is_cross_origin(req.request())
        });
    if refused {
        let response = failure_response(&[CrossOriginProtection::refusal()]);
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Whether the cookie would authenticate this request for an unsafe method, or the request
/// would set the cookie.
fn would_use_or_set_cookie(req: &HttpRequest, browser: &Browser) -> bool {
    let path = req.path();
    if path.starts_with("/login") {
        return matches!(ResponseMode::of(req), Ok(ResponseMode::Cookie));
    }
    let guarded = path == "/logout" || path == "/user" || path.starts_with("/user/");
    guarded
        && CrossOriginProtection::is_unsafe(req.method())
        && !matches!(browser.cookie.presented(req), Presented::None)
        && !carries_token(req)
}

/// Whether the request carries an access token (bearer header or `?secret_token=`).
fn carries_token(req: &HttpRequest) -> bool {
    req.headers().get_all(AUTHORIZATION).any(|v| {
        v.as_bytes()
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
    }) || form_urlencoded::parse(req.query_string().as_bytes())
        .any(|(key, _)| key == crate::auth::TOKEN_QUERY_PARAMETER)
}

/// Milliseconds since the epoch as an RFC 3339 UTC time, to the second
/// (`2026-12-02T16:20:04Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_228_404_999), "2026-12-02T16:20:04Z");
    }

    #[test]
    fn the_session_parameter_picks_the_mode() {
        let mode = |uri: &str| ResponseMode::of(&TestRequest::post().uri(uri).to_http_request());
        assert_eq!(mode("/login").unwrap(), ResponseMode::Token);
        assert_eq!(mode("/login?session=cookie").unwrap(), ResponseMode::Cookie);
        assert_eq!(
            mode("/login?%73ession=cookie").unwrap(),
            ResponseMode::Cookie
        );
        assert!(mode("/login?session=jar").is_err());
        assert!(mode("/login?session=cookie&session=cookie").is_err());
    }
}
