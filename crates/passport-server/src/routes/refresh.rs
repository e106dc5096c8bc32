//! `POST /token/refresh`: a refresh token for a new token pair of the same session.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::session::RefreshError;
use passport_actix::{AuthRequest, ErrorBody, Failure, failure_response, read_fields};

use super::login::token_response;
use crate::audit::{Audit, Entry, Event, Outcome};
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
    audit: web::Data<Audit>,
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
    // The store writes the audit row in the rotation's transaction (one commit, never lost).
    let trail = audit.rotation_context(&req);
    let refreshed = Store::with_rotation_audit(trail.clone(), auth.sessions.refresh(&presented));
    match refreshed.await {
        Ok((session, user)) => {
            let entry = Entry::new(Event::Refresh, Outcome::Success)
                .user(user.id)
                .session(Some(&session.session_id));
            if trail.written() {
                audit.record_written(&req, entry);
            } else {
                audit.record(&req, entry).await;
            }
            token_response(auth.token_pair(&user, &session))
        }
        Err(RefreshError::Store(error)) => {
            unexpected(error.into_strategy_error("rotating a refresh token"))
        }
        Err(refused) => {
            tracing::info!(reason = %refused, "refresh refused");
            if let RefreshError::ReuseDetected { session_id } = &refused {
                let entry =
                    Entry::new(Event::RefreshReuse, Outcome::Revoked).session(Some(session_id));
                if trail.written() {
                    audit.record_written(&req, entry);
                } else {
                    audit.record(&req, entry).await;
                }
            }
            match refused.failure() {
                Some(failure) => failure_response(&[failure]),
                None => ErrorBody::new("internal_error", "An internal error occurred")
                    .response(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
    }
}
