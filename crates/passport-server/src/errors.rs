//! JSON bodies for every error response, the framework's own 404/405/413 included.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use passport_actix::ErrorBody;

/// Middleware that gives a `{"error","message"}` JSON body to any 4xx/5xx response that does
/// not already have a JSON body (actix's 404, 405, 413, extractor and other framework errors).
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_json = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let (req, old) = res.into_parts();
        let mut new = body_for(status);
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                new.headers_mut().append(name.clone(), value.clone());
            }
        }
        let res: ServiceResponse<EitherBody<B, BoxBody>> =
            ServiceResponse::new(req, new).map_into_right_body();
        Ok(ErrorHandlerResponse::Response(res))
    })
}

/// The JSON error response for a status.
pub fn body_for(status: StatusCode) -> actix_web::HttpResponse {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed"),
        StatusCode::NOT_FOUND => ("not_found", "No such route"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This method is not allowed on this route",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Unsupported content type")
        }
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("headers_too_large", "The request headers are too large")
        }
        StatusCode::URI_TOO_LONG => ("uri_too_long", "The request URI is too long"),
        StatusCode::TOO_MANY_REQUESTS => ("too_many_requests", "Too many requests"),
        StatusCode::SERVICE_UNAVAILABLE => (
            "service_unavailable",
            "The service is temporarily unavailable",
        ),
        s if s.is_server_error() => ("internal_error", "An internal error occurred"),
        _ => ("request_error", "The request could not be processed"),
    };
    let mut response = ErrorBody::new(code, message).response(status);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The fallback for unknown routes.
pub async fn not_found() -> actix_web::HttpResponse {
    body_for(StatusCode::NOT_FOUND)
}

/// Logs an unexpected error with its whole cause chain and answers it (`503` when a
/// dependency is unavailable, `500` otherwise), with no detail for the client.
pub fn unexpected(error: passport_actix::StrategyError) -> actix_web::HttpResponse {
    match error.kind() {
        passport_actix::ErrorKind::Unavailable => {
            tracing::warn!(error = %error.chain(), "dependency unavailable")
        }
        _ => tracing::error!(error = %error.chain(), "request failed"),
    }
    passport_actix::error_response(&error)
}
