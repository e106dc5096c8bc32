//! The `Authenticate` trait every strategy implements, and an adapter for plain async functions.

use std::future::Future;
use std::marker::PhantomData;

use async_trait::async_trait;

use crate::outcome::Outcome;
use crate::request::AuthRequest;

/// A way of authenticating a request (Passport's `Strategy`).
///
/// One async method looks at the request and answers with an [`Outcome`]. The trait is
/// object-safe, so strategies of different types live side by side in one
/// [`Passport`](crate::Passport) registry.
///
/// # Examples
///
/// An API-key strategy:
///
/// ```
/// use passport_actix::{async_trait, constant_time_eq, AuthRequest, Authenticate, Failure, Outcome};
///
/// struct ApiKey { key: String }
///
/// #[async_trait(?Send)]
/// impl Authenticate<String> for ApiKey {
///     async fn authenticate(&self, req: &AuthRequest) -> Outcome<String> {
///         match req.http().headers().get("x-api-key") {
///             // No key at all: "not for me", so an optional guard lets the request through.
///             None => Outcome::Fail(Failure::missing("missing_api_key", "No API key")
///                 .challenge(r#"ApiKey realm="api""#)),
///             Some(v) if constant_time_eq(v.as_bytes(), self.key.as_bytes()) => Outcome::success("robot".into()),
///             Some(_) => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key")
///                 .challenge(r#"ApiKey realm="api", error="invalid_key""#)),
///         }
///     }
/// }
/// ```
#[async_trait(?Send)]
pub trait Authenticate<U>: Send + Sync + 'static {
    /// Decides about one request.
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U>;
}

/// A strategy made from an async function or closure; see [`strategy_fn`].
pub struct FnStrategy<F, U> {
    f: F,
    _user: PhantomData<fn() -> U>,
}

/// Turns an async function `Fn(&AuthRequest) -> impl Future<Output = Outcome<U>>` into a
/// strategy, for the cases where a whole trait implementation would be ceremony.
///
/// The function receives an owned clone of the `HttpRequest`, which is cheap (reference counted).
///
/// # Examples
///
/// ```
/// use passport_actix::{strategy_fn, Failure, Outcome, Passport};
///
/// let mut passport = Passport::<String>::new();
/// passport.register("header-user", strategy_fn(|req| async move {
///     match req.headers().get("x-user").and_then(|v| v.to_str().ok()) {
///         Some(name) => Outcome::success(name.to_owned()),
///         None => Outcome::Fail(Failure::unauthorized("no_user", "Missing x-user header")),
///     }
/// }));
/// assert!(passport.authenticate("header-user").is_ok());
/// ```
pub fn strategy_fn<F, Fut, U>(f: F) -> FnStrategy<F, U>
where
    F: Fn(actix_web::HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome<U>> + 'static,
    U: 'static,
{
    FnStrategy {
        f,
        _user: PhantomData,
    }
}

#[async_trait(?Send)]
impl<F, Fut, U> Authenticate<U> for FnStrategy<F, U>
where
    F: Fn(actix_web::HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome<U>> + 'static,
    U: 'static,
{
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        (self.f)(req.http().clone()).await
    }
}
