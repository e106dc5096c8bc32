//! Extractors that hand the authenticated user to handlers.

use std::any::type_name;
use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use thiserror::Error;

use crate::outcome::Info;
use crate::responder::ErrorBody;

/// What the middleware left in the request's extensions.
pub(crate) enum AuthState<U> {
    Authenticated { user: U, info: Info },
    Anonymous,
}

/// The user authenticated by the guarding middleware (Passport's `req.user`), with its
/// [`Info`] (Passport's `req.authInfo`).
///
/// If no [`Authenticator`](crate::Authenticator) for this user type wraps the route, extraction
/// fails with a `500` whose logged message says which middleware to register; if an optional
/// guard let an anonymous request through, it fails with `401`.
///
/// # Examples
///
/// ```
/// use actix_web::{get, HttpResponse};
/// use passport_actix::Authenticated;
///
/// #[get("/me")]
/// async fn me(user: Authenticated<String>) -> HttpResponse {
///     HttpResponse::Ok().body(format!("you are {}", *user))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<U> {
    user: U,
    info: Info,
}

impl<U> Authenticated<U> {
    /// The user.
    pub fn user(&self) -> &U {
        &self.user
    }

    /// What the strategy said about the authentication.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// The user, by value.
    pub fn into_inner(self) -> U {
        self.user
    }
}

impl<U> Deref for Authenticated<U> {
    type Target = U;

    fn deref(&self) -> &U {
        &self.user
    }
}

/// Why an extractor could not produce a user.
///
/// # Examples
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use passport_actix::Authenticated;
///
/// # actix_web::rt::System::new().block_on(async {
/// // No passport middleware wraps this route: the extractor answers 500 and logs what is missing.
/// let app = test::init_service(App::new().route("/me", web::get().to(
///     |user: Authenticated<String>| async move { HttpResponse::Ok().body(user.into_inner()) },
/// ))).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
/// assert_eq!(res.status(), 500);
/// # });
/// ```
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The route is not wrapped by an authenticating middleware for this user type.
    #[error(
        "{extractor} was used on a route that no passport authenticate() middleware for user type \
         {user_type} wraps; wrap the scope or resource with `.wrap(passport.authenticate(\"<name>\")?)`"
    )]
    MissingMiddleware {
        /// The extractor that was used.
        extractor: &'static str,
        /// The user type it asked for.
        user_type: &'static str,
    },
    /// The middleware ran but authenticated nobody (an optional guard let an anonymous
    /// request through).
    #[error("the request is not authenticated")]
    NotAuthenticated,
}

impl ResponseError for ExtractError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MissingMiddleware { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotAuthenticated => StatusCode::UNAUTHORIZED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::MissingMiddleware { .. } => {
                tracing::error!(error = %self, "misconfigured route");
                ErrorBody::new("internal_error", "An internal error occurred")
                    .response(self.status_code())
            }
            Self::NotAuthenticated => ErrorBody::new("unauthorized", "Authentication required")
                .response(self.status_code()),
        }
    }
}

fn lookup<U: Clone + 'static>(
    req: &HttpRequest,
    extractor: &'static str,
) -> Result<Option<Authenticated<U>>, ExtractError> {
    match req.extensions().get::<AuthState<U>>() {
        None => Err(ExtractError::MissingMiddleware {
            extractor,
            user_type: type_name::<U>(),
        }),
        Some(AuthState::Authenticated { user, info }) => Ok(Some(Authenticated {
            user: user.clone(),
            info: info.clone(),
        })),
        Some(AuthState::Anonymous) => Ok(None),
    }
}

impl<U: Clone + 'static> FromRequest for Authenticated<U> {
    type Error = ExtractError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            lookup(req, "Authenticated")
                .and_then(|found| found.ok_or(ExtractError::NotAuthenticated)),
        )
    }
}

/// The user if the request was authenticated, `None` if it carried no credentials at all.
///
/// Use it behind [`Authenticator::optional`](crate::Authenticator::optional): a request with
/// *wrong* credentials is still refused by the middleware, so a bad token never silently
/// becomes anonymous.
///
/// # Examples
///
/// ```
/// use actix_web::HttpResponse;
/// use passport_actix::MaybeAuthenticated;
///
/// async fn greet(user: MaybeAuthenticated<String>) -> HttpResponse {
///     match user.into_inner() {
///         Some(user) => HttpResponse::Ok().body(format!("hello {}", *user)),
///         None => HttpResponse::Ok().body("hello stranger"),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated<U>(Option<Authenticated<U>>);

impl<U> MaybeAuthenticated<U> {
    /// The authenticated user, if any.
    pub fn into_inner(self) -> Option<Authenticated<U>> {
        self.0
    }

    /// The user, if any, by reference.
    pub fn user(&self) -> Option<&U> {
        self.0.as_ref().map(Authenticated::user)
    }
}

impl<U: Clone + 'static> FromRequest for MaybeAuthenticated<U> {
    type Error = ExtractError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(lookup(req, "MaybeAuthenticated").map(MaybeAuthenticated))
    }
}
