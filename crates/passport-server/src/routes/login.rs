//! `POST /login`: the "login" strategy as a custom callback that signs a token on success.

use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::{AuthRequest, ErrorBody, Outcome};

use crate::auth::{Auth, TokenClaims};

/// `200 {"token","token_type":"Bearer","expires_in"}`, or the strategy's failure.
pub async fn login(req: HttpRequest, body: web::Payload, auth: web::Data<Auth>) -> HttpResponse {
    match auth.login.run(AuthRequest::from_handler(&req, body)).await {
        Outcome::Success { user, .. } => {
            match auth
                .issuer
                .issue(user.id.to_string(), TokenClaims { email: user.email })
            {
                Ok(token) => {
                    tracing::info!(user_id = %user.id, "user logged in");
                    HttpResponse::Ok()
                        .insert_header((CACHE_CONTROL, "no-store"))
                        .insert_header((PRAGMA, "no-cache"))
                        .json(token)
                }
                Err(error) => {
                    tracing::error!(%error, "signing a token failed");
                    ErrorBody::new("internal_error", "An internal error occurred")
                        .response(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            }
        }
        other => auth.login.respond(&req, other),
    }
}
