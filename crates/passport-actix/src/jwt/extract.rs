//! Where a token is found in a request (passport-jwt's `ExtractJwt`).

use std::fmt;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::header::{AUTHORIZATION, HeaderName};

/// A way of finding a token in a request.
///
/// Every extractor collects *all* the candidate tokens it sees, so that the strategy can refuse
/// a request that carries more than one (RFC 6750 §2) instead of silently picking one.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::jwt::{ExtractJwt, Extracted};
///
/// let extract = ExtractJwt::from_extractors([
///     ExtractJwt::from_auth_header_as_bearer_token(),
///     ExtractJwt::from_url_query_parameter("secret_token"),
/// ]);
/// let req = TestRequest::get().uri("/?secret_token=abc").to_http_request();
/// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
///
/// let req = TestRequest::get().uri("/?secret_token=abc")
///     .insert_header(("authorization", "bearer def")).to_http_request();
/// assert!(matches!(extract.extract(&req), Extracted::Many(_)));
/// ```
#[derive(Clone)]
pub struct ExtractJwt(Source);

type CustomExtractor = Arc<dyn Fn(&HttpRequest) -> Vec<String> + Send + Sync>;

#[derive(Clone)]
enum Source {
    Query(String),
    HeaderWithScheme {
        header: HeaderName,
        scheme: Option<String>,
    },
    Cookie(String),
    Custom(CustomExtractor),
    Extractors(Vec<ExtractJwt>),
}

impl fmt::Debug for ExtractJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Query(name) => write!(f, "ExtractJwt::from_url_query_parameter({name:?})"),
            Source::HeaderWithScheme { header, scheme } => {
                write!(f, "ExtractJwt::from_header({header}, scheme {scheme:?})")
            }
            Source::Cookie(name) => write!(f, "ExtractJwt::from_cookie({name:?})"),
            Source::Custom(_) => f.write_str("ExtractJwt::custom(..)"),
            Source::Extractors(list) => f.debug_list().entries(list).finish(),
        }
    }
}

/// What an extractor found.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::jwt::{ExtractJwt, Extracted};
///
/// let extract = ExtractJwt::from_auth_header_as_bearer_token();
/// assert_eq!(extract.extract(&TestRequest::get().to_http_request()), Extracted::None);
/// let req = TestRequest::get().insert_header(("authorization", "Bearer abc")).to_http_request();
/// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted {
    /// No token.
    None,
    /// Exactly one token.
    One(String),
    /// Several tokens (in different places, or the same place twice), in extractor order.
    Many(Vec<String>),
}

impl ExtractJwt {
    /// From the query parameter `name` (for example `?secret_token=<token>`).
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// let extract = ExtractJwt::from_url_query_parameter("secret_token");
    /// let req = TestRequest::get().uri("/user/me?secret_token=abc").to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// ```
    pub fn from_url_query_parameter(name: impl Into<String>) -> Self {
        Self(Source::Query(name.into()))
    }

    /// From `Authorization: Bearer <token>`, the scheme matched case-insensitively.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// let extract = ExtractJwt::from_auth_header_as_bearer_token();
    /// let req = TestRequest::get().insert_header(("authorization", "bearer abc")).to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// let req = TestRequest::get().insert_header(("authorization", "Basic YWRhOnB3")).to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::None);
    /// ```
    pub fn from_auth_header_as_bearer_token() -> Self {
        Self::from_auth_header_with_scheme("Bearer")
    }

    /// From `Authorization: <scheme> <token>`, the scheme matched case-insensitively.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// let extract = ExtractJwt::from_auth_header_with_scheme("JWT");
    /// let req = TestRequest::get().insert_header(("authorization", "JWT abc")).to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// ```
    pub fn from_auth_header_with_scheme(scheme: impl Into<String>) -> Self {
        Self(Source::HeaderWithScheme {
            header: AUTHORIZATION,
            scheme: Some(scheme.into()),
        })
    }

    /// From any header: its whole value, or the part after `scheme` if one is given.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::http::header::HeaderName;
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// let extract = ExtractJwt::from_header(HeaderName::from_static("x-access-token"), None);
    /// let req = TestRequest::get().insert_header(("x-access-token", "abc")).to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// ```
    pub fn from_header(header: HeaderName, scheme: Option<&str>) -> Self {
        Self(Source::HeaderWithScheme {
            header,
            scheme: scheme.map(str::to_owned),
        })
    }

    /// From the cookie `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::cookie::Cookie;
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// let extract = ExtractJwt::from_cookie("access_token");
    /// let req = TestRequest::get().cookie(Cookie::new("access_token", "abc")).to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// ```
    pub fn from_cookie(name: impl Into<String>) -> Self {
        Self(Source::Cookie(name.into()))
    }

    /// From a function of your own, returning every token it finds.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// // Tokens in the last path segment, `/download/<token>`.
    /// let extract = ExtractJwt::custom(|req| {
    ///     req.path().strip_prefix("/download/").map(str::to_owned).into_iter().collect()
    /// });
    /// let req = TestRequest::get().uri("/download/abc").to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// ```
    pub fn custom(f: impl Fn(&HttpRequest) -> Vec<String> + Send + Sync + 'static) -> Self {
        Self(Source::Custom(Arc::new(f)))
    }

    /// From several extractors, in order (the first hit wins when the strategy allows several).
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::{ExtractJwt, Extracted};
    ///
    /// let extract = ExtractJwt::from_extractors([
    ///     ExtractJwt::from_auth_header_as_bearer_token(),
    ///     ExtractJwt::from_cookie("access_token"),
    /// ]);
    /// let req = TestRequest::get().insert_header(("authorization", "Bearer abc")).to_http_request();
    /// assert_eq!(extract.extract(&req), Extracted::One("abc".into()));
    /// ```
    pub fn from_extractors(extractors: impl IntoIterator<Item = ExtractJwt>) -> Self {
        Self(Source::Extractors(extractors.into_iter().collect()))
    }

    /// Every token this extractor finds in `req`, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::jwt::ExtractJwt;
    ///
    /// let extract = ExtractJwt::from_url_query_parameter("t");
    /// let req = TestRequest::get().uri("/?t=a&t=b").to_http_request();
    /// assert_eq!(extract.candidates(&req), ["a", "b"]);
    /// ```
    pub fn candidates(&self, req: &HttpRequest) -> Vec<String> {
        let mut found = Vec::new();
        self.collect(req, &mut found);
        found
    }

    /// Whether `req` holds no token, one, or several.
    pub fn extract(&self, req: &HttpRequest) -> Extracted {
        let mut found = self.candidates(req);
        match found.len() {
            0 => Extracted::None,
            1 => Extracted::One(found.swap_remove(0)),
            _ => Extracted::Many(found),
        }
    }

    fn collect(&self, req: &HttpRequest, found: &mut Vec<String>) {
        match &self.0 {
            Source::Query(name) => {
                let query = req.query_string();
                // Most requests carry no query token (header transport): skip the decoding
                // pass unless the name can be there. A percent-encoded name still is.
                if query.is_empty() || (!query.contains(name.as_str()) && !query.contains('%')) {
                    return;
                }
                found.extend(
                    form_urlencoded::parse(query.as_bytes())
                        .filter(|(key, _)| key == name)
                        .map(|(_, value)| value.into_owned()),
                );
            }
            Source::HeaderWithScheme { header, scheme } => {
                for value in req.headers().get_all(header) {
                    let bytes = value.as_bytes().trim_ascii();
                    let token = match scheme {
                        None => bytes,
                        Some(scheme) => {
                            // Match the scheme on bytes first: a header of another scheme is
                            // not a token, whatever (non-ASCII) bytes it carries.
                            let split =
                                bytes.iter().position(|b| *b == b' ').unwrap_or(bytes.len());
                            let (given, rest) = bytes.split_at(split);
                            if !given.eq_ignore_ascii_case(scheme.as_bytes()) {
                                continue;
                            }
                            rest.trim_ascii()
                        }
                    };
                    // A token of the right scheme that is not ASCII is a (malformed) token.
                    found.push(std::str::from_utf8(token).unwrap_or_default().to_owned());
                }
            }
            Source::Cookie(name) => {
                if let Ok(cookies) = req.cookies() {
                    found.extend(
                        cookies
                            .iter()
                            .filter(|c| c.name() == name)
                            .map(|c| c.value().to_owned()),
                    );
                }
            }
            Source::Custom(f) => found.extend(f(req)),
            Source::Extractors(list) => list.iter().for_each(|e| e.collect(req, found)),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_other_schemes_are_ignored() {
        let bearer = ExtractJwt::from_auth_header_as_bearer_token();
        for header in ["Bearer abc", "bearer abc", "BEARER   abc "] {
            let req = TestRequest::get()
                .insert_header(("authorization", header))
                .to_http_request();
            assert_eq!(
                bearer.extract(&req),
                Extracted::One("abc".into()),
                "{header}"
            );
        }
        let req = TestRequest::get()
            .insert_header(("authorization", "Basic YTpi"))
            .to_http_request();
        assert_eq!(bearer.extract(&req), Extracted::None);
        let req = TestRequest::get()
            .insert_header((
                "authorization",
                actix_web::http::header::HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
            ))
            .to_http_request();
        assert_eq!(
            bearer.extract(&req),
            Extracted::None,
            "a non-ASCII header of another scheme is not a token"
        );
        let req = TestRequest::get()
            .insert_header(("authorization", "Bearerabc"))
            .to_http_request();
        assert_eq!(bearer.extract(&req), Extracted::None);
    }

    #[test]
    fn a_repeated_query_parameter_is_several_tokens() {
        let query = ExtractJwt::from_url_query_parameter("secret_token");
        let req = TestRequest::get()
            .uri("/?secret_token=a&secret_token=a")
            .to_http_request();
        assert!(matches!(query.extract(&req), Extracted::Many(v) if v.len() == 2));
        let req = TestRequest::get().uri("/?other=a").to_http_request();
        assert_eq!(query.extract(&req), Extracted::None);
    }

    #[test]
    fn a_percent_encoded_parameter_name_is_still_found() {
        let query = ExtractJwt::from_url_query_parameter("secret_token");
        let req = TestRequest::get()
            .uri("/?secret%5Ftoken=abc")
            .to_http_request();
        assert_eq!(query.extract(&req), Extracted::One("abc".into()));
        let req = TestRequest::get().uri("/?other=1").to_http_request();
        assert_eq!(query.extract(&req), Extracted::None);
    }

    #[test]
    fn cookies_and_custom_headers() {
        let cookie = ExtractJwt::from_cookie("jwt");
        let req = TestRequest::get()
            .insert_header(("cookie", "a=1; jwt=tok"))
            .to_http_request();
        assert_eq!(cookie.extract(&req), Extracted::One("tok".into()));
        let header = ExtractJwt::from_header(HeaderName::from_static("x-token"), None);
        let req = TestRequest::get()
            .insert_header(("x-token", " tok "))
            .to_http_request();
        assert_eq!(header.extract(&req), Extracted::One("tok".into()));
    }
}
