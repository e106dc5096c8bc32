//! The actix-web middleware made by [`Passport::authenticate`](crate::Passport::authenticate).

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage};
use futures_util::future::LocalBoxFuture;

use crate::chain::{Chain, ChainResult};
use crate::extract::AuthState;
use crate::outcome::Outcome;
use crate::request::AuthRequest;

/// A guard that runs a chain of strategies before the wrapped scope or resource.
///
/// On success the user is stored for the [`Authenticated`](crate::Authenticated) extractor; on
/// failure the [`FailureResponder`](crate::FailureResponder) answers and the handler never runs.
/// With [`optional`](Self::optional), a request that carries no credentials at all goes
/// through as anonymous (see [`MaybeAuthenticated`](crate::MaybeAuthenticated)), while wrong
/// credentials are still refused.
///
/// # Examples
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use passport_actix::{strategy_fn, Failure, MaybeAuthenticated, Outcome, Passport};
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut passport = Passport::<String>::new();
/// passport.register("key", strategy_fn(async |req| match req.http().headers().get("x-api-key") {
///     None => Outcome::Fail(Failure::missing("missing_api_key", "No API key")),
///     Some(v) if v == "let-me-in" => Outcome::success("robot".to_owned()),
///     Some(_) => Outcome::Fail(Failure::unauthorized("invalid_api_key", "Bad API key")),
/// }));
/// let guard = passport.authenticate("key").unwrap().optional();
/// let app = test::init_service(App::new().service(web::resource("/").wrap(guard).to(
///     |user: MaybeAuthenticated<String>| async move {
///         HttpResponse::Ok().body(user.user().cloned().unwrap_or_else(|| "anonymous".into()))
///     },
/// ))).await;
/// let get = |key: Option<&'static str>| {
///     let req = test::TestRequest::get().uri("/");
///     match key { Some(k) => req.insert_header(("x-api-key", k)), None => req }.to_request()
/// };
/// assert_eq!(test::call_and_read_body(&app, get(None)).await, "anonymous");
/// assert_eq!(test::call_and_read_body(&app, get(Some("let-me-in"))).await, "robot");
/// assert_eq!(test::call_service(&app, get(Some("wrong"))).await.status(), 401);
/// # });
/// ```
pub struct Authenticator<U> {
    chain: Arc<Chain<U>>,
    optional: bool,
}

impl<U> Clone for Authenticator<U> {
    fn clone(&self) -> Self {
        Self {
            chain: Arc::clone(&self.chain),
            optional: self.optional,
        }
    }
}

impl<U> Authenticator<U> {
    pub(crate) fn new(chain: Chain<U>) -> Self {
        Self {
            chain: Arc::new(chain),
            optional: false,
        }
    }

    /// Lets requests without any credentials through as anonymous.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::{strategy_fn, Outcome, Passport};
    ///
    /// let mut passport = Passport::<u32>::new();
    /// passport.register("jwt", strategy_fn(async |_req| Outcome::success(1)));
    /// let guard = passport.authenticate("jwt").unwrap().optional();
    /// # let _ = guard;
    /// ```
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

impl<S, B, U> Transform<S, ServiceRequest> for Authenticator<U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    U: Clone + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthenticatorService<S, U>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthenticatorService {
            service: Rc::new(service),
            chain: Arc::clone(&self.chain),
            optional: self.optional,
        }))
    }
}

/// The service behind [`Authenticator`]; not used directly.
///
/// # Examples
///
/// ```
/// use actix_web::dev::{Service, Transform};
/// use actix_web::test::{ok_service, TestRequest};
/// use passport_actix::{strategy_fn, AuthenticatorService, Failure, Outcome, Passport};
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut passport = Passport::<u32>::new();
/// passport.register("nobody", strategy_fn(async |_req| Outcome::Fail(Failure::unauthorized("no", "No"))));
/// // What `App::wrap` does with an `Authenticator`:
/// let service: AuthenticatorService<_, u32> =
///     passport.authenticate("nobody").unwrap().new_transform(ok_service()).await.unwrap();
/// let response = service.call(TestRequest::default().to_srv_request()).await.unwrap();
/// assert_eq!(response.status(), 401);
/// # });
/// ```
pub struct AuthenticatorService<S, U> {
    service: Rc<S>,
    chain: Arc<Chain<U>>,
    optional: bool,
}

impl<S, B, U> Service<ServiceRequest> for AuthenticatorService<S, U>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    U: Clone + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let chain = Arc::clone(&self.chain);
        let optional = self.optional;
        Box::pin(async move {
            let auth_req = AuthRequest::new(req.request().clone(), req.take_payload())
                .body_limit(chain.body_limit())
                .body_read_timeout(chain.body_read_timeout());
            let result = chain.run(&auth_req).await;
            req.set_payload(auth_req.into_payload());
            let state = match result {
                ChainResult::Decided(Outcome::Success { user, info }) => {
                    AuthState::Authenticated { user, info }
                }
                ChainResult::NoneApplied if optional => AuthState::Anonymous,
                ChainResult::Failed(ref failures)
                    if optional && ChainResult::<U>::only_missing_credentials(failures) =>
                {
                    AuthState::Anonymous
                }
                other => {
                    let response = chain.respond_result(req.request(), other);
                    return Ok(req.into_response(response).map_into_right_body());
                }
            };
            req.extensions_mut().insert(state);
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}
