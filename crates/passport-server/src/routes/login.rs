//! `POST /login`: the "login" strategy as a custom callback that starts a session on success.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::{AuthRequest, ErrorBody, FailureKind, Outcome, failure_response};

use crate::audit::{self, Audit, Entry, Event};
use crate::auth::{Auth, TokenPair};
use crate::browser::{self, ResponseMode};
use crate::errors::unexpected;
use crate::store::User;

/// `200 {"token","token_type":"Bearer","expires_in","refresh_token"}`, or with
/// `?session=cookie` `200 {"user"}` and the session cookie; or the strategy's failure.
pub async fn login(
    req: HttpRequest,
    body: web::Payload,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    // Before any credential is checked: a cross-site request that would set the cookie.
    if let Err(refused) = browser::login_mode(&req, &auth) {
        return failure_response(&[refused]);
    }
    match auth.login.run(AuthRequest::from_handler(&req, body)).await {
        Outcome::Success { user, .. } => {
            // EMAIL_VERIFICATION=required: the right password of an unconfirmed address.
            if let Some(refusal) = crate::mail::routes::refuse_unverified(&req, &user).await {
                return refusal;
            }
            complete_login(&req, &auth, &audit, user, LoginMethod::Password).await
        }
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

/// How a user proved who they are, for the log and the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginMethod {
    /// Email and password (`POST /login`).
    Password,
    /// An OpenID provider (`GET /auth/{provider}/callback`).
    OpenId,
    /// A magic link (`POST /login/email/verify`).
    MagicLink,
    /// A verification link and the signup's password (`POST /email/verify`).
    EmailVerification,
}

/// The one way every route ends a successful authentication of `user`: a new session and its
/// answer (the token pair). Every login route (password, OpenID, and those to come) calls this,
/// so what a login grants is decided in one place.
///
/// The answer's [`ResponseMode`] comes from the request itself (`?session=cookie`, see
/// [`browser::login_mode`]), so every login route has the cookie mode: then the session is
/// named by a new `HttpOnly` cookie (never one the request carried: fixation) and the body is
/// `{"user"}`. A cookie-mode request from another site is refused here too (`403`), though a
/// route should call [`browser::login_mode`] before checking any credential.
pub(crate) async fn complete_login(
    req: &HttpRequest,
    auth: &Auth,
    audit: &Audit,
    user: User,
    method: LoginMethod,
) -> HttpResponse {
    let mode = match browser::login_mode(req, auth) {
        Ok(mode) => mode,
        Err(refused) => return failure_response(&[refused]),
    };
    if mode == ResponseMode::Cookie {
        return match auth.sessions.start_cookie(&user.id.to_string()).await {
            Ok(session) => {
                tracing::info!(user_id = %user.id, session_id = %session.session_id, ?method, "user logged in (cookie)");
                if method == LoginMethod::Password {
                    let entry = Entry::new(Event::Login, audit::Outcome::Success)
                        .user(user.id)
                        .session(Some(&session.session_id))
                        .detail("cookie");
                    audit.record(req, entry).await;
                }
                browser::cookie_login_response(&auth.browser, &user, &session)
            }
            Err(error) => unexpected(error.into_strategy_error("starting a cookie session")),
        };
    }
    match auth.sessions.start(&user.id.to_string()).await {
        Ok(session) => {
            tracing::info!(user_id = %user.id, session_id = %session.session_id, ?method, "user logged in");
            if method == LoginMethod::Password {
                let entry = Entry::new(Event::Login, audit::Outcome::Success)
                    .user(user.id)
                    .session(Some(&session.session_id));
                audit.record(req, entry).await;
            }
            token_response(auth.token_pair(&user, &session))
        }
        Err(error) => unexpected(error.into_strategy_error("starting a session")),
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
