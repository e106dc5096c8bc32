//! `POST /login`: the "login" strategy as a custom callback that starts a session on success.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::{AuthRequest, ErrorBody, Outcome};

use crate::auth::{Auth, TokenPair};
use crate::errors::unexpected;

/// `200 {"token","token_type":"Bearer","expires_in","refresh_token"}`, or the strategy's
/// failure.
pub async fn login(req: HttpRequest, body: web::Payload, auth: web::Data<Auth>) -> HttpResponse {
    match auth.login.run(AuthRequest::from_handler(&req, body)).await {
        Outcome::Success { user, .. } => match auth.sessions.start(&user.id.to_string()).await {
            Ok(session) => {
                tracing::info!(user_id = %user.id, session_id = %session.session_id, "user logged in");
                token_response(auth.token_pair(&user, &session))
            }
            Err(error) => unexpected(error.into_strategy_error("starting a session")),
        },
        other => auth.login.respond(&req, other),
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
