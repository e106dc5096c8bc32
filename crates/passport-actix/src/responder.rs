//! Turning failures and errors into HTTP responses, with a hook to customize them.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, StrategyError};
use crate::outcome::{Failure, FailureKind};

/// The JSON body of every error response: `{"error": "<machine_code>", "message": "<human text>"}`.
///
/// # Examples
///
/// ```
/// use passport_actix::ErrorBody;
///
/// let body = ErrorBody::new("invalid_token", "The token expired");
/// assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"error":"invalid_token","message":"The token expired"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable machine-readable code such as `invalid_token`.
    pub error: String,
    /// A human-readable explanation.
    pub message: String,
}

impl ErrorBody {
    /// Builds a body from a code and a message.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::ErrorBody;
    ///
    /// let body = ErrorBody::new("too_many_attempts", "Try again later");
    /// assert_eq!(body.error, "too_many_attempts");
    /// ```
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            message: message.into(),
        }
    }

    /// A JSON response with this body and `status`, marked `no-store`.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix_web::http::StatusCode;
    /// use passport_actix::ErrorBody;
    ///
    /// let response = ErrorBody::new("forbidden", "Admins only").response(StatusCode::FORBIDDEN);
    /// assert_eq!(response.status(), 403);
    /// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    /// ```
    pub fn response(&self, status: StatusCode) -> HttpResponse {
        json_error_builder(status).json(self)
    }
}

/// Builds the response for a chain whose every strategy failed, or for a strategy error.
///
/// Implement it (or pass a closure `Fn(&HttpRequest, &[Failure]) -> HttpResponse`) to change
/// the body format, as Passport users have long asked for. The default is [`JsonResponder`].
///
/// # Examples
///
/// ```
/// use actix_web::{test, web, App, HttpRequest, HttpResponse};
/// use passport_actix::{strategy_fn, Failure, FailureResponder, Outcome, Passport};
///
/// /// Answers failures as plain text.
/// struct PlainText;
///
/// impl FailureResponder for PlainText {
///     fn failures(&self, _req: &HttpRequest, failures: &[Failure]) -> HttpResponse {
///         HttpResponse::Unauthorized().body(failures[0].message().to_owned())
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut passport = Passport::<String>::new();
/// passport.register("nobody", strategy_fn(async |_req| Outcome::Fail(Failure::unauthorized("no", "Go away"))));
/// passport.responder(PlainText);
/// let app = test::init_service(App::new().service(
///     web::resource("/").wrap(passport.authenticate("nobody").unwrap()).to(HttpResponse::Ok),
/// )).await;
/// let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
/// assert_eq!(res.status(), 401);
/// assert_eq!(test::read_body(res).await, "Go away");
/// # });
/// ```
pub trait FailureResponder: Send + Sync + 'static {
    /// The response for failures, in the order the strategies ran (never empty).
    fn failures(&self, req: &HttpRequest, failures: &[Failure]) -> HttpResponse;

    /// The response for an unexpected error; its detail has already been logged.
    fn error(&self, _req: &HttpRequest, error: &StrategyError) -> HttpResponse {
        error_response(error)
    }
}

/// The default responder: the most specific failure's status and JSON body (the first that
/// found credentials and refused them, else the first), every challenge in
/// `WWW-Authenticate` on a 401, `Retry-After` on a 429.
///
/// # Examples
///
/// ```
/// use actix_web::test::TestRequest;
/// use passport_actix::{Failure, FailureResponder, JsonResponder};
///
/// let response = JsonResponder.failures(
///     &TestRequest::default().to_http_request(),
///     &[Failure::missing("missing_token", "A bearer token is required").with_challenge(r#"Bearer realm="api""#)],
/// );
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers().get("www-authenticate").unwrap(), r#"Bearer realm="api""#);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonResponder;

impl FailureResponder for JsonResponder {
    fn failures(&self, _req: &HttpRequest, failures: &[Failure]) -> HttpResponse {
        failure_response(failures)
    }
}

impl<F> FailureResponder for F
where
    F: Fn(&HttpRequest, &[Failure]) -> HttpResponse + Send + Sync + 'static,
{
    fn failures(&self, req: &HttpRequest, failures: &[Failure]) -> HttpResponse {
        self(req, failures)
    }
}

/// The default response for failures (see [`JsonResponder`]).
///
/// # Examples
///
/// ```
/// use passport_actix::{failure_response, Failure};
///
/// let response = failure_response(&[
///     Failure::unauthorized("invalid_token", "Expired").with_challenge(r#"Bearer error="invalid_token""#),
///     Failure::unauthorized("missing_api_key", "No key").with_challenge("ApiKey"),
/// ]);
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers().get_all("www-authenticate").count(), 2);
/// ```
pub fn failure_response(failures: &[Failure]) -> HttpResponse {
    let Some(first) = failures.get(most_specific(failures)) else {
        return ErrorBody::new("unauthorized", "Authentication required")
            .response(StatusCode::UNAUTHORIZED);
    };
    let mut builder = json_error_builder(first.status());
    if first.status() == StatusCode::UNAUTHORIZED {
        for challenge in failures.iter().filter_map(Failure::challenge) {
            if let Ok(value) = HeaderValue::from_str(&challenge.to_string()) {
                builder.append_header((header::WWW_AUTHENTICATE, value));
            }
        }
    } else if let Some(value) = first
        .challenge()
        .and_then(|c| HeaderValue::from_str(&c.to_string()).ok())
    {
        builder.append_header((header::WWW_AUTHENTICATE, value));
    }
    if let Some(wait) = first.retry_after() {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        builder.insert_header((header::RETRY_AFTER, seconds.max(1)));
    }
    builder.json(ErrorBody::new(first.code(), first.message()))
}

/// The index of the failure a client should read: the first that found credentials and
/// refused them (it says more than one that found none), else the first.
pub(crate) fn most_specific(failures: &[Failure]) -> usize {
    failures
        .iter()
        .position(|f| f.kind() != FailureKind::MissingCredentials)
        .unwrap_or(0)
}

/// The default response for a strategy error: `500 internal_error` or
/// `503 service_unavailable`, with no detail.
///
/// # Examples
///
/// ```
/// use passport_actix::{error_response, StrategyError};
///
/// let down = StrategyError::unavailable("querying users", std::io::Error::other("connection refused"));
/// assert_eq!(error_response(&down).status(), 503);
/// assert_eq!(error_response(&StrategyError::msg("a bug")).status(), 500);
/// ```
pub fn error_response(error: &StrategyError) -> HttpResponse {
    match error.kind() {
        ErrorKind::Unavailable => {
            let mut builder = json_error_builder(StatusCode::SERVICE_UNAVAILABLE);
            builder.insert_header((header::RETRY_AFTER, 1));
            builder.json(ErrorBody::new(
                "service_unavailable",
                "The service is temporarily unavailable; try again shortly",
            ))
        }
        _ => ErrorBody::new("internal_error", "An internal error occurred")
            .response(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn json_error_builder(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn non_401_failures_keep_their_status_and_retry_after() {
        let response = failure_response(&[Failure::throttled(Duration::from_millis(1500))]);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }

    #[test]
    fn unavailable_errors_become_503() {
        let err = StrategyError::unavailable("db", std::io::Error::other("down"));
        assert_eq!(
            error_response(&err).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let err = StrategyError::msg("bug");
        assert_eq!(
            error_response(&err).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
