//! Refusing cross-site requests without tokens to thread through forms: the approach of Go
//! 1.25's `net/http.CrossOriginProtection` and of OWASP's current CSRF cheat sheet, reading the
//! `Origin` and `Sec-Fetch-Site` headers every browser sends.

use actix_web::HttpRequest;
use actix_web::http::header::{HOST, ORIGIN};
use actix_web::http::{Method, StatusCode};

use crate::outcome::Failure;

/// The header browsers send with every request since 2023 (Fetch Metadata).
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// Decides whether a browser request comes from another site, by its headers alone.
///
/// A request is **cross-origin** when
///
/// 1. it carries `Origin` and that origin's `host[:port]` is neither the request's own `Host`
///    nor the `host[:port]` of a [trusted origin](Self::trust_origin); or
/// 2. it carries no `Origin` and `Sec-Fetch-Site: cross-site`.
///
/// A request with neither header (curl, a server, a mobile app: no ambient credentials) is
/// let through: there is no browser to trick. `Origin: null` (sandboxed frames, some
/// redirects) is never the request's host, so it is refused.
///
/// Use it where a request is authenticated by something the browser attaches by itself — a
/// cookie — and only for the requests that change something ([`is_unsafe`](Self::is_unsafe)),
/// or for every request that would *set* such a cookie (login CSRF). The
/// [`SessionStrategy`](crate::session::SessionStrategy) does the former when given one.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::CrossOriginProtection;
///
/// let protection = CrossOriginProtection::new().trust_origin("https://app.example.com").unwrap();
/// let from = |origin: &str| {
///     TestRequest::post().insert_header(("host", "api.example.com")).insert_header(("origin", origin)).to_http_request()
/// };
/// assert!(protection.check(&from("https://api.example.com")).is_ok(), "same host");
/// assert!(protection.check(&from("https://app.example.com")).is_ok(), "trusted");
/// let refused = protection.check(&from("https://evil.example")).unwrap_err();
/// assert_eq!((refused.status().as_u16(), refused.code()), (403, "cross_origin_request"));
///
/// let curl = TestRequest::post().insert_header(("host", "api.example.com")).to_http_request();
/// assert!(protection.check(&curl).is_ok(), "no browser, nothing to forge");
/// let form = TestRequest::post().insert_header(("sec-fetch-site", "cross-site")).to_http_request();
/// assert!(protection.check(&form).is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CrossOriginProtection {
    /// The `host[:port]` of each trusted origin, lower-case.
    trusted: Vec<String>,
}

/// Why [`CrossOriginProtection::trust_origin`] refused an origin.
///
/// # Examples
///
/// ```
/// use passport_actix::CrossOriginProtection;
///
/// let error = CrossOriginProtection::new().trust_origin("https://app.example.com/path").unwrap_err();
/// assert!(error.to_string().contains("app.example.com/path"));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0:?} is not an origin (scheme://host[:port], no path)")]
pub struct InvalidOrigin(pub String);

impl CrossOriginProtection {
    /// A protection that trusts the request's own host only.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::CrossOriginProtection;
    ///
    /// let protection = CrossOriginProtection::new();
    /// # let _ = protection;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Also lets requests from `origin` (`scheme://host[:port]`, as in `Origin`) through — the
    /// server's CORS allow-list, typically.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::CrossOriginProtection;
    ///
    /// let protection = CrossOriginProtection::new()
    ///     .trust_origin("http://localhost:5173").unwrap()
    ///     .trust_origin("https://app.example.com").unwrap();
    /// assert!(CrossOriginProtection::new().trust_origin("*").is_err());
    /// # let _ = protection;
    /// ```
    pub fn trust_origin(mut self, origin: &str) -> Result<Self, InvalidOrigin> {
        let host = authority(origin).ok_or_else(|| InvalidOrigin(origin.to_owned()))?;
        self.trusted.push(host);
        Ok(self)
    }

    /// Whether `method` can change something (`POST`, `PUT`, `PATCH`, `DELETE` and any
    /// method but `GET`, `HEAD`, `OPTIONS` and `TRACE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::http::Method;
    /// use passport_actix::CrossOriginProtection;
    ///
    /// assert!(CrossOriginProtection::is_unsafe(&Method::POST));
    /// assert!(CrossOriginProtection::is_unsafe(&Method::DELETE));
    /// assert!(!CrossOriginProtection::is_unsafe(&Method::GET));
    /// ```
    pub fn is_unsafe(method: &Method) -> bool {
        !matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    }

    /// `Err(403 cross_origin_request)` when the request comes from another site (see the type's
    /// documentation), whatever its method.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::CrossOriginProtection;
    ///
    /// let req = TestRequest::get().insert_header(("host", "127.0.0.1:3000"))
    ///     .insert_header(("origin", "http://127.0.0.1:3000")).to_http_request();
    /// assert!(CrossOriginProtection::new().check(&req).is_ok());
    /// ```
    pub fn check(&self, req: &HttpRequest) -> Result<(), Failure> {
        if self.is_cross_origin(req) {
            Err(Self::refusal())
        } else {
            Ok(())
        }
    }

    /// [`check`](Self::check) for unsafe methods only; safe ones always pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::CrossOriginProtection;
    ///
    /// let get = TestRequest::get().insert_header(("origin", "https://evil.example")).to_http_request();
    /// assert!(CrossOriginProtection::new().check_unsafe(&get).is_ok(), "reading is not forging");
    /// let post = TestRequest::post().insert_header(("origin", "https://evil.example")).to_http_request();
    /// assert!(CrossOriginProtection::new().check_unsafe(&post).is_err());
    /// ```
    pub fn check_unsafe(&self, req: &HttpRequest) -> Result<(), Failure> {
        if Self::is_unsafe(req.method()) {
            self.check(req)
        } else {
            Ok(())
        }
    }

    /// Whether the request comes from another site (see the type's documentation).
    pub fn is_cross_origin(&self, req: &HttpRequest) -> bool {
        let headers = req.headers();
        if let Some(origin) = headers.get(ORIGIN) {
            let Some(origin) = origin.to_str().ok().and_then(authority) else {
                return true; // `null`, or not an origin at all
            };
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
                .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
                .map(|h| h.to_ascii_lowercase());
            let same_host = host.is_some_and(|host| same_authority(&host, &origin));
            return !same_host && !self.trusted.iter().any(|t| same_authority(t, &origin));
        }
        headers
            .get(SEC_FETCH_SITE)
            .is_some_and(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    }
}

impl CrossOriginProtection {
    /// The refusal [`check`](Self::check) answers: `403 {"error":"cross_origin_request"}`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::CrossOriginProtection;
    ///
    /// let refusal = CrossOriginProtection::refusal();
    /// assert_eq!((refusal.status().as_u16(), refusal.code()), (403, "cross_origin_request"));
    /// ```
    pub fn refusal() -> Failure {
        Failure::new(
            StatusCode::FORBIDDEN,
            "cross_origin_request",
            "Cross-origin request refused: a browser request from another site cannot use or set \
         the session cookie",
        )
    }
}

/// The lower-case `host[:port]` of an origin `scheme://host[:port]` (an `http` or `https`
/// scheme, no path, no user info), with the scheme's default port dropped.
fn authority(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ', '*']) {
        return None;
    }
    let rest = rest.to_ascii_lowercase();
    Some(rest.strip_suffix(default_port).unwrap_or(&rest).to_owned())
}

/// Whether a `Host` value and an origin's authority name the same host and port (a `Host`
/// with an explicit default port matches an origin without one).
fn same_authority(host: &str, origin_authority: &str) -> bool {
    host == origin_authority
        || host
            .strip_suffix(":80")
            .or_else(|| host.strip_suffix(":443"))
            .is_some_and(|bare| bare == origin_authority)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> HttpRequest {
        let mut req = TestRequest::default().method(method);
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        req.to_http_request()
    }

    #[test]
    fn origin_decides_when_present() {
        let p = CrossOriginProtection::new()
            .trust_origin("http://localhost:5173")
            .unwrap();
        let host = ("host", "127.0.0.1:3000");
        for (origin, refused) in [
            ("http://127.0.0.1:3000", false),
            ("HTTP://127.0.0.1:3000", false),
            ("https://127.0.0.1:3000", false),
            ("http://127.0.0.1:3001", true),
            ("http://localhost:5173", false),
            ("http://localhost:5174", true),
            ("null", true),
            ("http://127.0.0.1:3000/path", true),
            ("garbage", true),
        ] {
            let req = request(Method::POST, &[host, ("origin", origin)]);
            assert_eq!(p.check(&req).is_err(), refused, "{origin}");
        }
        // Origin wins over Sec-Fetch-Site.
        let req = request(
            Method::POST,
            &[
                host,
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "cross-site"),
            ],
        );
        assert!(p.check(&req).is_ok());
    }

    #[test]
    fn sec_fetch_site_decides_without_origin() {
        let p = CrossOriginProtection::new();
        for (site, refused) in [
            ("cross-site", true),
            ("Cross-Site", true),
            ("same-site", false),
            ("same-origin", false),
            ("none", false),
        ] {
            let req = request(Method::DELETE, &[("sec-fetch-site", site)]);
            assert_eq!(p.check(&req).is_err(), refused, "{site}");
        }
        assert!(p.check(&request(Method::POST, &[])).is_ok(), "no header");
    }

    #[test]
    fn default_ports_and_safe_methods() {
        let p = CrossOriginProtection::new();
        let req = request(
            Method::POST,
            &[
                ("host", "example.com:443"),
                ("origin", "https://example.com"),
            ],
        );
        assert!(p.check(&req).is_ok());
        let get = request(Method::GET, &[("origin", "https://evil.example")]);
        assert!(p.check_unsafe(&get).is_ok());
        assert!(p.check(&get).is_err());
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(CrossOriginProtection::is_unsafe(&method), "{method}");
        }
        assert!(
            CrossOriginProtection::new()
                .trust_origin("ftp://x")
                .is_err()
        );
    }
}
