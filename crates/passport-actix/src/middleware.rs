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
                ChainResult::Decided(Outcome::Pass) => AuthState::Passed,
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
