//! `SessionStrategy`: Passport's `session` strategy — a request authenticated by the session
//! cookie a login set.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::HttpRequest;

use crate::cross_origin::CrossOriginProtection;
use crate::error::StoreError;
use crate::outcome::{Failure, Info, Outcome};
use crate::request::AuthRequest;
use crate::session::cookie::{Presented, SessionCookie};
use crate::session::token::RefreshTokenHash;
use crate::strategy::Authenticate;

type Predicate = Arc<dyn Fn(&HttpRequest) -> bool + Send + Sync>;

/// Authenticates a request by its session cookie (Passport's `passport.session()`).
///
/// Passport's pair of calls, typed:
///
/// * **serialize** — at login, [`Sessions::start_cookie`](super::Sessions::start_cookie) stores a
///   session under the *digest* of a new random value and
///   [`SessionCookie::issue`] hands the value to the browser;
/// * **deserialize** — on each request this strategy reads the cookie, refuses anything that
///   cannot be a value this crate issued (wrong length or alphabet: no store call), and hands
///   the value's [`RefreshTokenHash`] to your `deserialize` callback, which answers the
///   session's user (`Ok(None)`: unknown, revoked or expired → `401 invalid_session`). Look it
///   up through the same [`LivenessCache`](super::LivenessCache) as the JWT strategy's verify
///   callback, and a cookie request costs what a token request costs.
///
/// Refusals: no cookie → a "missing" failure (so a chain such as `["jwt", "session"]` answers
/// the other strategy's 401, and an optional guard lets the request through as anonymous);
/// several different values → `400 invalid_request`; with
/// [`cross_origin`](Self::cross_origin), an unsafe method from another site → `403
/// cross_origin_request` before any look-up. With [`yield_to`](Self::yield_to), a request that
/// carries another credential (a bearer token) is left to that credential alone.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use actix_web::{test, web, App, HttpResponse};
/// use passport_actix::session::{RefreshToken, RefreshTokenHash, SessionCookie, SessionStrategy};
/// use passport_actix::{Authenticated, CrossOriginProtection, Passport};
///
/// # actix_web::rt::System::new().block_on(async {
/// let cookie = SessionCookie::new(false);
/// let value = RefreshToken::generate();
/// // Your session table: digest of the cookie value → user.
/// let sessions = HashMap::from([(value.hash(), "ada".to_owned())]);
/// let mut passport = Passport::<String>::new();
/// passport.register("session", SessionStrategy::new(
///     cookie.clone(),
///     async move |digest: RefreshTokenHash| Ok(sessions.get(&digest).cloned()),
/// ).cross_origin(CrossOriginProtection::new()));
///
/// let app = test::init_service(App::new().service(
///     web::resource("/me").wrap(passport.authenticate("session").unwrap())
///         .route(web::get().to(|user: Authenticated<String>| async move { HttpResponse::Ok().body(user.into_inner()) }))
///         .route(web::post().to(HttpResponse::NoContent)),
/// )).await;
/// let with = |req: test::TestRequest, v: &str| req.uri("/me").cookie(cookie.issue(v)).to_request();
/// assert_eq!(test::call_and_read_body(&app, with(test::TestRequest::get(), value.as_str())).await, "ada");
/// let forged = with(test::TestRequest::get(), RefreshToken::generate().as_str());
/// assert_eq!(test::call_service(&app, forged).await.status(), 401);
/// let csrf = test::TestRequest::post().insert_header(("origin", "https://evil.example"));
/// assert_eq!(test::call_service(&app, with(csrf, value.as_str())).await.status(), 403);
/// # });
/// ```
pub struct SessionStrategy<U, F> {
    cookie: SessionCookie,
    deserialize: F,
    protection: Option<CrossOriginProtection>,
    yield_to: Option<Predicate>,
    _user: PhantomData<fn() -> U>,
}

impl<U, F> fmt::Debug for SessionStrategy<U, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStrategy")
            .field("cookie", &self.cookie)
            .field("cross_origin", &self.protection)
            .finish_non_exhaustive()
    }
}

impl<U, F> SessionStrategy<U, F>
where
    U: 'static,
    F: AsyncFn(RefreshTokenHash) -> Result<Option<U>, StoreError> + Send + Sync + 'static,
{
    /// A strategy reading `cookie` and answering its user with `deserialize`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::{RefreshTokenHash, SessionCookie, SessionStrategy};
    ///
    /// let strategy = SessionStrategy::new(SessionCookie::new(true), async |_digest: RefreshTokenHash| Ok(None::<String>));
    /// # let _ = strategy;
    /// ```
    pub fn new(cookie: SessionCookie, deserialize: F) -> Self {
        Self {
            cookie,
            deserialize,
            protection: None,
            yield_to: None,
            _user: PhantomData,
        }
    }

    /// Refuses unsafe methods (`POST`, `PUT`, `PATCH`, `DELETE`, …) from another site with
    /// `403 cross_origin_request` (see [`CrossOriginProtection`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::CrossOriginProtection;
    /// use passport_actix::session::{RefreshTokenHash, SessionCookie, SessionStrategy};
    ///
    /// let protection = CrossOriginProtection::new().trust_origin("https://app.example.com").unwrap();
    /// let strategy = SessionStrategy::new(SessionCookie::new(true), async |_: RefreshTokenHash| Ok(None::<String>))
    ///     .cross_origin(protection);
    /// # let _ = strategy;
    /// ```
    pub fn cross_origin(mut self, protection: CrossOriginProtection) -> Self {
        self.protection = Some(protection);
        self
    }

    /// Ignores the cookie of a request for which `carries_other` is true (for example one that
    /// carries a bearer token): such a request is judged by its other credential alone, and a
    /// wrong token is never rescued by a good cookie.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::session::{RefreshTokenHash, SessionCookie, SessionStrategy};
    ///
    /// let strategy = SessionStrategy::new(SessionCookie::new(true), async |_: RefreshTokenHash| Ok(None::<String>))
    ///     .yield_to(|req| req.headers().contains_key("authorization"));
    /// # let _ = strategy;
    /// ```
    pub fn yield_to(
        mut self,
        carries_other: impl Fn(&HttpRequest) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.yield_to = Some(Arc::new(carries_other));
        self
    }

    /// The cookie settings.
    pub fn cookie(&self) -> &SessionCookie {
        &self.cookie
    }
}

/// No (usable) session cookie: a "missing" failure, which a chain ranks below any other.
fn missing<U>() -> Outcome<U> {
    Outcome::Fail(Failure::missing(
        "missing_session",
        "A session cookie or a bearer token is required",
    ))
}

fn invalid() -> Failure {
    Failure::unauthorized(
        "invalid_session",
        "The session cookie is not valid, or its session has ended",
    )
}

impl<U, F> Authenticate<U> for SessionStrategy<U, F>
where
    U: 'static,
    F: AsyncFn(RefreshTokenHash) -> Result<Option<U>, StoreError> + Send + Sync + 'static,
{
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        let http = req.http();
        if self.yield_to.as_ref().is_some_and(|other| other(http)) {
            return missing();
        }
        let value = match self.cookie.presented(http) {
            Presented::None => return missing(),
            Presented::Many => {
                return Outcome::Fail(Failure::bad_request(
                    "invalid_request",
                    "The request carries more than one session cookie",
                ));
            }
            Presented::One(value) => value,
        };
        if let Some(protection) = &self.protection
            && let Err(refused) = protection.check_unsafe(http)
        {
            return Outcome::Fail(refused);
        }
        let Some(digest) = RefreshTokenHash::of_presented(&value) else {
            return Outcome::Fail(invalid().with_reason("not a value this server issues"));
        };
        match (self.deserialize)(digest).await {
            Ok(Some(user)) => Outcome::Success {
                user,
                info: Info::with_message("Session cookie accepted"),
            },
            Ok(None) => Outcome::Fail(invalid().with_reason("unknown or ended session")),
            Err(error) => Outcome::Error(error.into_strategy_error("loading the session's user")),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use crate::outcome::FailureKind;
    use crate::session::RefreshToken;

    fn strategy(known: RefreshTokenHash) -> impl Authenticate<String> {
        SessionStrategy::new(
            SessionCookie::new(false),
            async move |digest: RefreshTokenHash| Ok((digest == known).then(|| "ada".to_owned())),
        )
        .cross_origin(CrossOriginProtection::new())
        .yield_to(|req| req.headers().contains_key("authorization"))
    }

    async fn run(s: &impl Authenticate<String>, req: TestRequest) -> Result<String, Failure> {
        match s
            .authenticate(&AuthRequest::with_body(req.to_http_request(), "".into()))
            .await
        {
            Outcome::Success { user, .. } => Ok(user),
            Outcome::Fail(failure) => Err(failure),
            other => panic!("{other:?}"),
        }
    }

    #[actix_rt::test]
    async fn every_refusal_has_its_answer() {
        let value = RefreshToken::generate();
        let s = strategy(value.hash());
        let cookie = |v: &str| format!("passport_session={v}");
        let get = |v: &str| TestRequest::get().insert_header(("cookie", cookie(v)));
        assert_eq!(run(&s, get(value.as_str())).await.unwrap(), "ada");
        let missing = run(&s, TestRequest::get()).await.unwrap_err();
        assert_eq!(missing.kind(), FailureKind::MissingCredentials);
        for bad in [
            "garbage",
            &"x".repeat(5000),
            RefreshToken::generate().as_str(),
        ] {
            let refused = run(&s, get(bad)).await.unwrap_err();
            assert_eq!(
                (refused.status().as_u16(), refused.code()),
                (401, "invalid_session")
            );
        }
        let twice = TestRequest::get().insert_header((
            "cookie",
            format!("{}; passport_session=other", cookie(value.as_str())),
        ));
        assert_eq!(run(&s, twice).await.unwrap_err().status(), 400);
        let with_token = get(value.as_str()).insert_header(("authorization", "Bearer x"));
        assert_eq!(
            run(&s, with_token).await.unwrap_err().kind(),
            FailureKind::MissingCredentials,
            "a request with a token is the token's"
        );
        let csrf = TestRequest::post()
            .insert_header(("cookie", cookie(value.as_str())))
            .insert_header(("sec-fetch-site", "cross-site"));
        assert_eq!(run(&s, csrf).await.unwrap_err().status(), 403);
        let same_site = TestRequest::post()
            .insert_header(("cookie", cookie(value.as_str())))
            .insert_header(("sec-fetch-site", "same-origin"));
        assert_eq!(run(&s, same_site).await.unwrap(), "ada");
    }
}
