//! `POST /login`: the "login" strategy as a custom callback that starts a session on success.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::{AuthRequest, ErrorBody, FailureKind, Outcome};

use crate::audit::{self, Audit, Entry, Event};
use crate::auth::{Auth, TokenPair};
use crate::errors::unexpected;

/// `200 {"token","token_type":"Bearer","expires_in","refresh_token"}`, or the strategy's
/// failure.
pub async fn login(
    req: HttpRequest,
    body: web::Payload,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    match auth.login.run(AuthRequest::from_handler(&req, body)).await {
        Outcome::Success { user, .. } => match auth.sessions.start(&user.id.to_string()).await {
            Ok(session) => {
                tracing::info!(user_id = %user.id, session_id = %session.session_id, "user logged in");
                let entry = Entry::new(Event::Login, audit::Outcome::Success)
                    .user(user.id)
                    .session(Some(&session.session_id));
                audit.record(&req, entry).await;
                token_response(auth.token_pair(&user, &session))
            }
            Err(error) => unexpected(error.into_strategy_error("starting a session")),
        },
        other => {
            if let Outcome::Fail(failure) = &other {
                let outcome = match failure.kind() {
                    FailureKind::InvalidCredentials => Some(audit::Outcome::Failure),
                    FailureKind::Throttled => Some(audit::Outcome::Throttled),
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    audit.record(&req, Entry::new(Event::Login, outcome)).await;
                }
            }
            auth.login.respond(&req, other)
        }
    }
}

/// A token pair as a `200` that no cache keeps, or a `500` if signing failed.
pub(crate) fn token_response(
    pair: Result<TokenPair, passport_actix::jwt::IssueError>,
) -> HttpResponse {
    match pair {
        Ok(pair) => HttpResponse::Ok()
            .insert_header((CACHE_CONTROL, "no-store"))
            .insert_header((PRAGMA, "no-cache"))
            .json(pair),
        Err(error) => {
            tracing::error!(%error, "signing a token failed");
            ErrorBody::new("internal_error", "An internal error occurred")
                .response(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
