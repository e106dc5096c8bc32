//! The `Authenticate` trait every strategy implements, and an adapter for async closures.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use crate::outcome::Outcome;
use crate::request::AuthRequest;

/// A way of authenticating a request (Passport's `Strategy`).
///
/// One async method looks at the request and answers with an [`Outcome`]. Implement it with a
/// plain `async fn` — no attribute macro. Strategies of different types still live side by
/// side in one [`Passport`](crate::Passport) registry (it boxes them internally). The future
/// need not be `Send`: actix-web runs each request on one thread.
///
/// # Examples
///
/// An API-key strategy (the library ships a complete one,
/// [`ApiKeyStrategy`](crate::api_key::ApiKeyStrategy); this shows the shape):
///
/// ```
/// use passport_actix::{constant_time_eq, AuthRequest, Authenticate, Failure, Outcome};
///
/// struct ApiKey { key: String }
///
/// impl Authenticate<String> for ApiKey {
///     async fn authenticate(&self, req: &AuthRequest) -> Outcome<String> {
///         match req.http().headers().get("x-api-key") {
///             // No key at all: "not for me", so an optional guard lets the request through.
///             None => Outcome::Fail(Failure::missing("missing_api_key", "No API key")
///                 .with_challenge(r#"ApiKey realm="api""#)),
///             Some(v) if constant_time_eq(v.as_bytes(), self.key.as_bytes()) => Outcome::success("robot".into()),
///             Some(_) => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key")
///                 .with_challenge(r#"ApiKey realm="api", error="invalid_key""#)),
///         }
///     }
/// }
/// ```
pub trait Authenticate<U>: Send + Sync + 'static {
    /// Decides about one request (write it as `async fn authenticate(&self, req: &AuthRequest)
    /// -> Outcome<U>`).
    fn authenticate(&self, req: &AuthRequest) -> impl Future<Output = Outcome<U>>;
}

/// The future of a boxed strategy.
pub(crate) type BoxedOutcome<'a, U> = Pin<Box<dyn Future<Output = Outcome<U>> + 'a>>;

/// [`Authenticate`] made object-safe, so the registry can hold strategies of any type.
pub(crate) trait DynAuthenticate<U>: Send + Sync + 'static {
    fn authenticate_boxed<'a>(&'a self, req: &'a AuthRequest) -> BoxedOutcome<'a, U>;
}

impl<U: 'static, S: Authenticate<U>> DynAuthenticate<U> for S {
    fn authenticate_boxed<'a>(&'a self, req: &'a AuthRequest) -> BoxedOutcome<'a, U> {
        Box::pin(self.authenticate(req))
    }
}

/// A strategy made from an async closure; see [`strategy_fn`].
///
/// # Examples
///
/// ```
/// use passport_actix::{strategy_fn, AuthRequest, FnStrategy, Outcome};
///
/// let always: FnStrategy<_, u32> = strategy_fn(async |_req: &AuthRequest| Outcome::success(1));
/// # let _ = always;
/// ```
pub struct FnStrategy<F, U> {
    f: F,
    _user: PhantomData<fn() -> U>,
}

/// Turns an async closure `async |req: &AuthRequest| -> Outcome<U>` into a strategy, for the
/// cases where a whole trait implementation would be ceremony. The closure sees the whole
/// request, body included, and may borrow what it captured.
///
/// # Examples
///
/// A strategy reading a header:
///
/// ```
/// use passport_actix::{strategy_fn, Failure, Outcome, Passport};
///
/// let mut passport = Passport::<String>::new();
/// passport.register("header-user", strategy_fn(async |req| {
///     match req.http().headers().get("x-user").and_then(|v| v.to_str().ok()) {
///         Some(name) => Outcome::success(name.to_owned()),
///         None => Outcome::Fail(Failure::missing("no_user", "Missing x-user header")),
///     }
/// }));
/// assert!(passport.authenticate("header-user").is_ok());
/// ```
///
/// A strategy reading the body (which the handler can still read afterwards):
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::{read_fields, strategy_fn, AuthRequest, Authenticate, Failure, Outcome};
///
/// let invite = strategy_fn(async |req: &AuthRequest| match read_fields(req, ["invite"]).await {
///     Ok([Some(code)]) if code == "let-me-in" => Outcome::success("guest".to_owned()),
///     Ok(_) => Outcome::Fail(Failure::missing("invite_missing", "An invite code is required")),
///     Err(failure) => Outcome::Fail(failure),
/// });
/// # actix_web::rt::System::new().block_on(async {
/// let http = TestRequest::post()
///     .insert_header(("content-type", "application/x-www-form-urlencoded"))
///     .to_http_request();
/// let req = AuthRequest::with_body(http, "invite=let-me-in".into());
/// assert!(matches!(invite.authenticate(&req).await, Outcome::Success { .. }));
/// # });
/// ```
pub fn strategy_fn<F, U>(f: F) -> FnStrategy<F, U>
where
    F: AsyncFn(&AuthRequest) -> Outcome<U> + Send + Sync + 'static,
    U: 'static,
{
    FnStrategy {
        f,
        _user: PhantomData,
    }
}

impl<F, U> Authenticate<U> for FnStrategy<F, U>
where
    F: AsyncFn(&AuthRequest) -> Outcome<U> + Send + Sync + 'static,
    U: 'static,
{
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        (self.f)(req).await
    }
}
