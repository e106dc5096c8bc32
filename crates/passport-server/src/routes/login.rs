//! `POST /login`: the "login" strategy as a custom callback that starts a session on success.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::local::INVALID_CREDENTIALS;
use passport_actix::mfa::Amr;
use passport_actix::{AuthRequest, ErrorBody, Failure, FailureKind, Outcome, failure_response};

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
            if let Some(refusal) = crate::mail::refuse_unverified(&req, &user).await {
                return refusal;
            }
            complete_login(&req, &auth, &audit, user, LoginMethod::Password).await
        }
        other => {
            if let Outcome::Fail(failure) = &other {
                let outcome = match failure.kind() {
                    FailureKind::InvalidCredentials => Some(audit::EventOutcome::Failure),
                    FailureKind::Throttled => Some(audit::EventOutcome::Throttled),
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
    /// The second step (`POST /login/mfa`): a TOTP or recovery code after a first factor.
    /// The user's `amr` field then holds the first factor's methods plus `otp`.
    SecondFactor,
}

impl LoginMethod {
    /// The RFC 8176 methods this first factor proves: a password (also the one given with
    /// a verified signup) is `pwd`; an OpenID login is `fed` (the provider vouched; RFC 8176
    /// registers no value for that, `fed` is the one Microsoft's identity platform uses); a
    /// magic link is `email` (possession of the mailbox; unregistered too, as RFC 8176 §1
    /// allows, and never `otp`, so a link alone never passes a step-up).
    pub(crate) fn amr(self, user: &User) -> Amr {
        match self {
            Self::Password | Self::EmailVerification => Amr::new([Amr::PWD]),
            Self::OpenId => Amr::new([Amr::FED]),
            Self::MagicLink => Amr::new([Amr::EMAIL]),
            Self::SecondFactor => Amr::from(user.amr.clone()),
        }
    }
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
    let amr = method.amr(&user);
    if method == LoginMethod::SecondFactor {
        // Only a completed login clears the account's throttle (never a right password alone).
        if let Err(error) = auth.mfa.clear_attempts(&user.email).await {
            return unexpected(error.into_strategy_error("clearing login attempts"));
        }
    } else {
        // The factor is the account's: every first factor of a TOTP user asks for the code
        // (no session, no token, no cookie yet; `POST /login/mfa[?session=cookie]` finishes).
        match auth.mfa.enabled(user.id).await {
            Ok(true) => return mfa_required(req, auth, audit, &user, &amr).await,
            Ok(false) => {}
            Err(error) => {
                return unexpected(error.into_strategy_error("reading the second factor"));
            }
        }
    }
    if mode == ResponseMode::Cookie {
        return match auth
            .sessions
            .start_cookie_with_amr(&user.id.to_string(), amr.as_slice())
            .await
        {
            Ok(session) => {
                tracing::info!(user_id = %user.id, session_id = %session.session_id, ?method, "user logged in (cookie)");
                if method == LoginMethod::Password {
                    let entry = Entry::new(Event::Login, audit::EventOutcome::Success)
                        .user(user.id)
                        .session(Some(&session.session_id))
                        .detail("cookie");
                    audit.record(req, entry).await;
                }
                if method == LoginMethod::SecondFactor {
                    let entry = Entry::new(Event::MfaLogin, audit::EventOutcome::Success)
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
    // A password login's session is conditional on the credentials version it checked: a
    // password change that committed since (on any instance) leaves it without a session,
    // answered as a wrong password.
    let started = match user.credentials_version {
        Some(version) => {
            auth.sessions
                .start_checked(&user.id.to_string(), &version.to_string(), amr.as_slice())
                .await
        }
        None => auth
            .sessions
            .start_with_amr(&user.id.to_string(), amr.as_slice())
            .await
            .map(Some),
    };
    match started {
        Ok(None) => {
            tracing::info!(user_id = %user.id, ?method, "login refused: the password changed during the check");
            let failure = Failure::unauthorized("invalid_credentials", INVALID_CREDENTIALS)
                .with_reason("the password changed during the login");
            if method == LoginMethod::Password {
                audit
                    .record(req, Entry::new(Event::Login, audit::EventOutcome::Failure))
                    .await;
            }
            auth.login.respond(req, Outcome::Fail(failure))
        }
        Ok(Some(session)) => {
            tracing::info!(user_id = %user.id, session_id = %session.session_id, ?method, "user logged in");
            if method == LoginMethod::Password {
                let entry = Entry::new(Event::Login, audit::EventOutcome::Success)
                    .user(user.id)
                    .session(Some(&session.session_id));
                audit.record(req, entry).await;
            }
            if method == LoginMethod::SecondFactor {
                let entry = Entry::new(Event::MfaLogin, audit::EventOutcome::Success)
                    .user(user.id)
                    .session(Some(&session.session_id));
                audit.record(req, entry).await;
            }
            token_response(auth.token_pair(&user, &session))
        }
        Err(error) => unexpected(error.into_strategy_error("starting a session")),
    }
}

/// `200 {"mfa_required":true,"mfa_token","expires_in":300}`: the first factor was right, the
/// code is still to come (`POST /login/mfa`). No session starts and no token is issued.
async fn mfa_required(
    req: &HttpRequest,
    auth: &Auth,
    audit: &Audit,
    user: &User,
    first: &Amr,
) -> HttpResponse {
    match auth.mfa.challenge(user, first).await {
        Ok(challenge) => {
            tracing::info!(user_id = %user.id, "first factor accepted; second factor required");
            let entry = Entry::new(Event::MfaChallenge, audit::EventOutcome::Success).user(user.id);
            audit.record(req, entry).await;
            HttpResponse::Ok()
                .insert_header((CACHE_CONTROL, "no-store"))
                .insert_header((PRAGMA, "no-cache"))
                .json(serde_json::json!({
                    "mfa_required": true,
                    "mfa_token": challenge.token,
                    "expires_in": crate::mfa::MFA_TOKEN_TTL.as_secs(),
                }))
        }
        Err(error) => unexpected(error.into_strategy_error("starting the second step")),
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
