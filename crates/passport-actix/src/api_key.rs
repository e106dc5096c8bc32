//! `ApiKeyStrategy`: machine clients holding a shared secret, sent in a header or a query
//! parameter (passport-headerapikey, with the comparison done right).
//!
//! * The keys are configured when the strategy is built, each with the user it authenticates
//!   as; an empty or repeated key is refused then, with a [`ConfigError`].
//! * Only the SHA-256 of each key is kept, and a presented key is compared with every one of
//!   them in constant time ([`subtle`]), so neither the response time nor a memory dump tells
//!   how much of a key matched, or which key of several.
//! * No key in the request is Passport's "not mine": by default a [`Failure::missing`] whose
//!   challenge reaches the client when the whole chain fails (the next strategy still runs, and
//!   an [`optional`](crate::Authenticator::optional) guard lets the request through as
//!   anonymous), or with [`pass_when_missing`](ApiKeyStrategy::pass_when_missing) an
//!   [`Outcome::Pass`].
//! * A wrong key is `401 api_key_invalid`; two keys in one request are
//!   `400 several_api_keys`. The key itself never reaches a log, a response or `Debug`.

use std::fmt;
use std::sync::Arc;

use actix_web::http::header::HeaderName;
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::challenge::Challenge;
use crate::error::ConfigError;
use crate::outcome::{Failure, Info, Outcome};
use crate::request::AuthRequest;
use crate::strategy::Authenticate;

/// Where the client sends its key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A request header, such as `x-api-key`.
    Header(HeaderName),
    /// A query parameter, such as `?api_key=` (it ends up in access logs: prefer a header).
    Query(String),
}

/// One accepted key: its digest and the user it stands for.
struct Accepted<U> {
    digest: [u8; 32],
    user: U,
}

/// Authenticates requests that carry one of the configured API keys, in a header or a query
/// parameter.
///
/// # Examples
///
/// A service key beside user tokens, on one required guard:
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use passport_actix::api_key::ApiKeyStrategy;
/// use passport_actix::{Authenticated, ConfigError, Passport};
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut passport = Passport::<String>::new();
/// passport.register("api-key", ApiKeyStrategy::header("x-api-key", "k3y-from-your-settings", "billing".to_owned())?);
/// let app = test::init_service(App::new().service(
///     web::resource("/report")
///         .wrap(passport.authenticate("api-key")?)
///         .to(|caller: Authenticated<String>| async move { HttpResponse::Ok().body(caller.into_inner()) }),
/// )).await;
///
/// let with_key = test::TestRequest::get().uri("/report").insert_header(("x-api-key", "k3y-from-your-settings"));
/// assert_eq!(test::call_and_read_body(&app, with_key.to_request()).await, "billing");
///
/// let wrong = test::TestRequest::get().uri("/report").insert_header(("x-api-key", "guess"));
/// let res = test::call_service(&app, wrong.to_request()).await;
/// assert_eq!(res.status(), 401);
/// assert_eq!(res.headers().get("www-authenticate").unwrap(), r#"ApiKey realm="api", header="x-api-key", error="invalid_key""#);
///
/// let without = test::call_service(&app, test::TestRequest::get().uri("/report").to_request()).await;
/// assert_eq!(without.status(), 401, "a required guard: no key, no handler");
///
/// // An empty key (say, an unset variable) is refused when the strategy is built.
/// assert_eq!(ApiKeyStrategy::header("x-api-key", "", "billing".to_owned()).err(), Some(ConfigError::EmptyApiKey));
/// # Ok::<(), ConfigError>(())
/// # }).unwrap();
/// ```
pub struct ApiKeyStrategy<U> {
    source: Source,
    keys: Arc<[Accepted<U>]>,
    realm: String,
    pass_when_missing: bool,
}

impl<U> Clone for ApiKeyStrategy<U> {
    fn clone(&self) -> Self {
        Self {
            source: self.source.clone(),
            keys: Arc::clone(&self.keys),
            realm: self.realm.clone(),
            pass_when_missing: self.pass_when_missing,
        }
    }
}

impl<U> fmt::Debug for ApiKeyStrategy<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyStrategy")
            .field("source", &self.source)
            .field("keys", &self.keys.len())
            .field("realm", &self.realm)
            .field("pass_when_missing", &self.pass_when_missing)
            .finish()
    }
}

impl<U: Clone + Send + Sync + 'static> ApiKeyStrategy<U> {
    /// Accepts `key` in the request header `name` (for example `x-api-key`), authenticating as
    /// `user`. Refuses an empty key ([`ConfigError::EmptyApiKey`]) and a name that is not a
    /// header name ([`ConfigError::InvalidApiKeySource`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::api_key::ApiKeyStrategy;
    /// use passport_actix::ConfigError;
    ///
    /// assert!(ApiKeyStrategy::header("x-api-key", "a long random key", "robot").is_ok());
    /// assert_eq!(ApiKeyStrategy::header("x-api-key", "", "robot").err(), Some(ConfigError::EmptyApiKey));
    /// assert!(matches!(ApiKeyStrategy::header("not a header", "key", "robot"), Err(ConfigError::InvalidApiKeySource(_))));
    /// ```
    pub fn header(name: &str, key: impl AsRef<[u8]>, user: U) -> Result<Self, ConfigError> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConfigError::InvalidApiKeySource(format!("header name {name:?}")))?;
        Self::from_source(Source::Header(name), key.as_ref(), user)
    }

    /// Accepts `key` in the query parameter `name` (for example `?api_key=`), authenticating
    /// as `user`. Query strings end up in access logs, proxies and browser history: prefer
    /// [`header`](Self::header) unless a client cannot send headers. Refuses an empty key
    /// ([`ConfigError::EmptyApiKey`]) and an empty name.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::api_key::ApiKeyStrategy;
    /// use passport_actix::{AuthRequest, Authenticate, Outcome};
    ///
    /// let strategy = ApiKeyStrategy::query("api_key", "a long random key", "robot").unwrap();
    /// # actix_web::rt::System::new().block_on(async {
    /// let req = AuthRequest::with_body(TestRequest::get().uri("/?api_key=a%20long%20random%20key").to_http_request(), Default::default());
    /// assert!(matches!(strategy.authenticate(&req).await, Outcome::Success { user: "robot", .. }));
    /// # });
    /// ```
    pub fn query(name: &str, key: impl AsRef<[u8]>, user: U) -> Result<Self, ConfigError> {
        if name.is_empty() {
            return Err(ConfigError::InvalidApiKeySource(
                "an empty query parameter name".to_owned(),
            ));
        }
        Self::from_source(Source::Query(name.to_owned()), key.as_ref(), user)
    }

    fn from_source(source: Source, key: &[u8], user: U) -> Result<Self, ConfigError> {
        Ok(Self {
            source,
            keys: Arc::from([accepted(key, user)?]),
            realm: "api".to_owned(),
            pass_when_missing: false,
        })
    }

    /// Accepts one more key, authenticating as `user`: one per client, or the next key while
    /// the old one is rotated out. Every key is compared on every request, whichever matches.
    /// Refuses an empty key and a key already accepted ([`ConfigError::DuplicateApiKey`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::api_key::ApiKeyStrategy;
    /// use passport_actix::ConfigError;
    ///
    /// let strategy = ApiKeyStrategy::header("x-api-key", "key of the billing job", "billing")?
    ///     .also_accept("key of the backup job", "backup")?;
    /// assert_eq!(strategy.also_accept("key of the backup job", "other").err(), Some(ConfigError::DuplicateApiKey));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn also_accept(self, key: impl AsRef<[u8]>, user: U) -> Result<Self, ConfigError> {
        let added = accepted(key.as_ref(), user)?;
        if self
            .keys
            .iter()
            .any(|known| bool::from(known.digest[..].ct_eq(&added.digest[..])))
        {
            return Err(ConfigError::DuplicateApiKey);
        }
        let keys: Vec<Accepted<U>> = self
            .keys
            .iter()
            .map(|known| Accepted {
                digest: known.digest,
                user: known.user.clone(),
            })
            .chain([added])
            .collect();
        Ok(Self {
            keys: Arc::from(keys),
            ..self
        })
    }

    /// Sets the `realm` of the `WWW-Authenticate` challenge (default `api`).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::api_key::ApiKeyStrategy;
    ///
    /// let strategy = ApiKeyStrategy::header("x-api-key", "key", "robot").unwrap().realm("reports");
    /// assert!(format!("{strategy:?}").contains("reports"));
    /// ```
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Answers [`Outcome::Pass`] instead of [`Failure::missing`] when the request carries no
    /// key: the strategy then stays out of the `401`'s challenges (a key the client should not
    /// learn about). A required guard still answers `401` when no strategy succeeds.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::test::TestRequest;
    /// use passport_actix::api_key::ApiKeyStrategy;
    /// use passport_actix::{AuthRequest, Authenticate, Outcome};
    ///
    /// let strategy = ApiKeyStrategy::header("x-api-key", "key", "robot").unwrap().pass_when_missing();
    /// # actix_web::rt::System::new().block_on(async {
    /// let req = AuthRequest::with_body(TestRequest::get().to_http_request(), Default::default());
    /// assert!(matches!(strategy.authenticate(&req).await, Outcome::Pass));
    /// # });
    /// ```
    pub fn pass_when_missing(mut self) -> Self {
        self.pass_when_missing = true;
        self
    }

    /// The keys presented in `req` (usually none or one).
    fn presented(&self, req: &AuthRequest) -> Vec<Vec<u8>> {
        match &self.source {
            Source::Header(name) => req
                .http()
                .headers()
                .get_all(name)
                .map(|value| value.as_bytes().to_vec())
                .collect(),
            Source::Query(name) => {
                let query = req.http().query_string();
                if query.is_empty() {
                    return Vec::new();
                }
                form_urlencoded::parse(query.as_bytes())
                    .filter(|(key, _)| key == name)
                    .map(|(_, value)| value.into_owned().into_bytes())
                    .collect()
            }
        }
    }

    /// The user of the key whose digest equals `digest`, after comparing it with every key.
    fn find(&self, digest: &[u8; 32]) -> Option<&U> {
        let mut found = subtle::Choice::from(0);
        let mut index = 0u32;
        for (i, known) in self.keys.iter().enumerate() {
            let matches = known.digest[..].ct_eq(&digest[..]);
            index.conditional_assign(&u32::try_from(i).unwrap_or(u32::MAX), matches);
            found |= matches;
        }
        bool::from(found)
            .then(|| self.keys.get(usize::try_from(index).ok()?))
            .flatten()
            .map(|known| &known.user)
    }

    fn challenge(&self) -> Challenge {
        let challenge = Challenge::new("ApiKey").param("realm", self.realm.clone());
        match &self.source {
            Source::Header(name) => challenge.param("header", name.as_str().to_owned()),
            Source::Query(name) => challenge.param("query", name.clone()),
        }
    }
}

fn accepted<U>(key: &[u8], user: U) -> Result<Accepted<U>, ConfigError> {
    if key.is_empty() {
        return Err(ConfigError::EmptyApiKey);
    }
    Ok(Accepted {
        digest: digest(key),
        user,
    })
}

fn digest(key: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(key).into()
}

impl<U: Clone + Send + Sync + 'static> Authenticate<U> for ApiKeyStrategy<U> {
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        let presented = self.presented(req);
        let key = match presented.as_slice() {
            [] if self.pass_when_missing => return Outcome::Pass,
            [] => {
                return Outcome::Fail(
                    Failure::missing("api_key_missing", "An API key is required")
                        .with_challenge(self.challenge()),
                );
            }
            [key] => key,
            [..] => {
                return Outcome::Fail(
                    Failure::bad_request("several_api_keys", "Send one API key, not several")
                        .with_challenge(self.challenge().error("invalid_request")),
                );
            }
        };
        match self.find(&digest(key)) {
            Some(user) => Outcome::Success {
                user: user.clone(),
                info: Info::with_message("API key accepted"),
            },
            None => Outcome::Fail(
                Failure::unauthorized("api_key_invalid", "The API key is not valid")
                    .with_challenge(self.challenge().error("invalid_key"))
                    .with_reason("no configured API key matches"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use crate::outcome::FailureKind;

    fn request(req: TestRequest) -> AuthRequest {
        AuthRequest::with_body(req.to_http_request(), bytes::Bytes::new())
    }

    fn decide(strategy: &ApiKeyStrategy<&'static str>, req: TestRequest) -> Outcome<&'static str> {
        actix_web::rt::System::new().block_on(strategy.authenticate(&request(req)))
    }

    fn two_keys() -> ApiKeyStrategy<&'static str> {
        ApiKeyStrategy::header("x-api-key", "first key, 0123456789", "first")
            .unwrap()
            .also_accept(b"second key, 9876543210", "second")
            .unwrap()
    }

    #[test]
    fn an_empty_key_is_refused_at_construction() {
        assert_eq!(
            ApiKeyStrategy::header("x-api-key", "", "u").err(),
            Some(ConfigError::EmptyApiKey)
        );
        assert_eq!(
            ApiKeyStrategy::query("api_key", b"", "u").err(),
            Some(ConfigError::EmptyApiKey)
        );
        assert_eq!(
            two_keys().also_accept("", "third").err(),
            Some(ConfigError::EmptyApiKey)
        );
        assert!(matches!(
            ApiKeyStrategy::query("", "key", "u"),
            Err(ConfigError::InvalidApiKeySource(_))
        ));
        assert!(matches!(
            ApiKeyStrategy::header("x api key", "key", "u"),
            Err(ConfigError::InvalidApiKeySource(_))
        ));
    }

    #[test]
    fn each_key_authenticates_as_its_own_user() {
        let strategy = two_keys();
        for (key, user) in [
            ("first key, 0123456789", "first"),
            ("second key, 9876543210", "second"),
        ] {
            let outcome = decide(
                &strategy,
                TestRequest::get().insert_header(("x-api-key", key)),
            );
            assert!(
                matches!(outcome, Outcome::Success { user: u, .. } if u == user),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn a_wrong_or_partial_key_is_a_401_that_never_echoes_the_key() {
        let strategy = two_keys();
        for wrong in [
            "first key, 012345678",
            "first key, 01234567890",
            "FIRST KEY, 0123456789",
            "",
        ] {
            let outcome = decide(
                &strategy,
                TestRequest::get().insert_header(("x-api-key", wrong)),
            );
            let Outcome::Fail(failure) = outcome else {
                panic!("{wrong:?}: {outcome:?}");
            };
            assert_eq!(failure.status(), 401);
            assert_eq!(failure.kind(), FailureKind::InvalidCredentials);
            assert_eq!(failure.code(), "api_key_invalid");
            let printed = format!("{failure:?}");
            assert!(wrong.is_empty() || !printed.contains(wrong), "{printed}");
            assert_eq!(
                failure.challenge().map(ToString::to_string).as_deref(),
                Some(r#"ApiKey realm="api", header="x-api-key", error="invalid_key""#)
            );
        }
    }

    #[test]
    fn no_key_is_a_missing_credential_or_a_pass() {
        let strategy = two_keys().realm("jobs");
        let Outcome::Fail(failure) = decide(&strategy, TestRequest::get()) else {
            panic!("a failure with a challenge by default");
        };
        assert_eq!(failure.kind(), FailureKind::MissingCredentials);
        assert_eq!(failure.code(), "api_key_missing");
        assert_eq!(
            failure.challenge().map(ToString::to_string).as_deref(),
            Some(r#"ApiKey realm="jobs", header="x-api-key""#)
        );
        let passing = strategy.pass_when_missing();
        assert!(matches!(
            decide(&passing, TestRequest::get()),
            Outcome::Pass
        ));
        // Another header is not this strategy's credential.
        assert!(matches!(
            decide(
                &passing,
                TestRequest::get().insert_header(("authorization", "Bearer abc"))
            ),
            Outcome::Pass
        ));
    }

    #[test]
    fn two_keys_in_one_request_are_a_bad_request() {
        let strategy = two_keys();
        let req = TestRequest::get()
            .append_header(("x-api-key", "first key, 0123456789"))
            .append_header(("x-api-key", "second key, 9876543210"));
        let Outcome::Fail(failure) = decide(&strategy, req) else {
            panic!("two keys are refused");
        };
        assert_eq!(
            (failure.status().as_u16(), failure.code()),
            (400, "several_api_keys")
        );
        let query = ApiKeyStrategy::query("api_key", "k", "u").unwrap();
        let Outcome::Fail(failure) = actix_web::rt::System::new().block_on(
            query.authenticate(&request(TestRequest::get().uri("/?api_key=k&api_key=k"))),
        ) else {
            panic!("a repeated parameter is refused");
        };
        assert_eq!(failure.code(), "several_api_keys");
    }

    #[test]
    fn the_query_parameter_is_read_percent_decoded() {
        let strategy = ApiKeyStrategy::query("api_key", "a+b c/d", "robot").unwrap();
        let run = |uri: &str| {
            actix_web::rt::System::new()
                .block_on(strategy.authenticate(&request(TestRequest::get().uri(uri))))
        };
        assert!(matches!(
            run("/r?x=1&api_key=a%2Bb+c%2Fd"),
            Outcome::Success { user: "robot", .. }
        ));
        assert!(matches!(run("/r?api_key=a+b+c%2Fd"), Outcome::Fail(_)));
        assert!(
            matches!(run("/r?x=1"), Outcome::Fail(f) if f.kind() == FailureKind::MissingCredentials)
        );
    }

    #[test]
    fn a_repeated_key_is_refused_and_debug_shows_no_key() {
        assert_eq!(
            two_keys()
                .also_accept("second key, 9876543210", "again")
                .err(),
            Some(ConfigError::DuplicateApiKey)
        );
        let printed = format!("{:?}", two_keys());
        assert!(!printed.contains("first key"), "{printed}");
        assert!(printed.contains("keys: 2"), "{printed}");
    }
}
