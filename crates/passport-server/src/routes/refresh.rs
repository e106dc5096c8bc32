//! `POST /token/refresh`: a refresh token for a new token pair of the same session.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::session::RefreshError;
use passport_actix::{AuthRequest, ErrorBody, Failure, failure_response, read_fields};
use uuid::Uuid;

use super::login::token_response;
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::store::Store;

/// `200` with the login body (a new access token for the same `sid`, a new refresh token);
/// `400 invalid_grant` for an unknown, used-up, expired or revoked refresh token;
/// `400 invalid_request` when the field is missing.
pub async fn refresh(
    req: HttpRequest,
    body: web::Payload,
    auth: web::Data<Auth>,
    store: web::Data<Store>,
) -> HttpResponse {
    let request = AuthRequest::from_handler(&req, body);
    let presented = match read_fields(&request, ["refresh_token"]).await {
        Ok([Some(token)]) if !token.is_empty() => token,
        Ok(_) => {
            return failure_response(&[Failure::bad_request(
                "invalid_request",
                "The refresh_token field is required",
            )]);
        }
        Err(failure) => return failure_response(&[failure]),
    };
    let session = match auth.sessions.refresh(&presented).await {
        Ok(session) => session,
        Err(RefreshError::Store(error)) => {
            return unexpected(error.into_strategy_error("rotating a refresh token"));
        }
        Err(refused) => {
            tracing::info!(reason = %refused, "refresh refused");
            return match refused.failure() {
                Some(failure) => failure_response(&[failure]),
                None => ErrorBody::new("internal_error", "An internal error occurred")
                    .response(StatusCode::INTERNAL_SERVER_ERROR),
            };
        }
    };
    let user = match Uuid::parse_str(&session.user_id) {
        Ok(id) => store.user_by_id(id).await,
        Err(_) => Ok(None),
    };
    match user {
        Ok(Some(user)) => token_response(auth.token_pair(&user, &session)),
        // Deleted between the rotation and now: its sessions are gone with it.
        Ok(None) => failure_response(
            &RefreshError::InvalidGrant("the user no longer exists")
                .failure()
                .into_iter()
                .collect::<Vec<_>>(),
        ),
        Err(error) => unexpected(error.into_strategy_error("loading the session's user")),
    }
}
