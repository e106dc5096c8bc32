//! `POST /token/refresh`: a refresh token for a new token pair of the same session.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::session::RefreshError;
use passport_actix::{AuthRequest, ErrorBody, Failure, failure_response, read_fields};

use super::login::token_response;
use crate::audit::{Audit, Entry, Event, EventOutcome};
use crate::auth::Auth;
use crate::errors::unexpected;

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
    // The store writes the audit row (`token_refresh` success, `refresh_token_reuse` revoked)
    // in the rotation's own statement: both happen or neither, in one round trip.
    let trail = audit.rotation_audit(&req);
    let store = auth.sessions.store();
    let refreshed = auth
        .sessions
        .refresh_with(&presented, async |rotation| {
            store.rotate_refresh_token_recorded(rotation, &trail).await
        })
        .await;
    match refreshed {
        Ok((session, user)) => {
            let entry = Entry::new(Event::Refresh, EventOutcome::Success)
                .user(user.id)
                .session(Some(&session.session_id));
            audit.recorded(&req, &entry);
            token_response(auth.token_pair(&user, &session))
        }
        Err(RefreshError::Store(error)) => {
            unexpected(error.into_strategy_error("rotating a refresh token"))
        }
        Err(refused) => {
            tracing::info!(reason = %refused, "refresh refused");
            if let RefreshError::ReuseDetected { session_id } = &refused {
                let entry = Entry::new(Event::RefreshReuse, EventOutcome::Revoked)
                    .session(Some(session_id));
                audit.recorded(&req, &entry);
            }
            // Told apart from an unknown or ended token (which leaves no row): a client
            // retrying inside the reuse grace until the session's unused-token cap.
            if let RefreshError::CapReached = &refused {
                let entry =
                    Entry::new(Event::Refresh, EventOutcome::Failure).detail("unused_token_cap");
                audit.record(&req, entry).await;
            }
            match refused.failure() {
                Some(failure) => failure_response(&[failure]),
                None => ErrorBody::new("internal_error", "An internal error occurred")
                    .response(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
    }
}
