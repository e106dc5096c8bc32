//! The second factor's routes: TOTP enrolment (`POST /user/mfa/totp`, `…/confirm`), removal
//! (`DELETE /user/mfa/totp`) and the second step of a login (`POST /login/mfa`).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA};
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::local::Attempt;
use passport_actix::mfa::Amr;
use passport_actix::{AuthRequest, Authenticated, Failure, failure_response, read_fields};

use super::login::{LoginMethod, complete_login};
use super::reauth::{reauthenticate, refused, required};
use crate::audit::{self, Audit, Entry, Event};
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::mfa::{Code, invalid_code};
use crate::store::{Redeemed, User};

/// `200 {"secret","otpauth_uri"}`: a new pending TOTP secret (re-authenticated by password);
/// `409 mfa_already_enabled` once TOTP is on.
pub async fn enroll_totp(
    req: HttpRequest,
    body: web::Payload,
    user: Authenticated<User>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    if let Err(response) = step_up(&auth, &audit, &req, &user).await {
        return response;
    }
    let request = AuthRequest::from_handler(&req, body);
    let [password] = match required(&request, ["password"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if let Err(response) = reauthenticate(&auth, &user, &password).await {
        refused(&audit, &req, Event::MfaEnroll, &user, &response).await;
        return response;
    }
    match auth.mfa.begin(&user).await {
        Ok(Some(totp)) => {
            record(
                &audit,
                &req,
                Event::MfaEnroll,
                audit::EventOutcome::Success,
                &user,
            )
            .await;
            HttpResponse::Ok()
                .insert_header((CACHE_CONTROL, "no-store"))
                .insert_header((PRAGMA, "no-cache"))
                .json(serde_json::json!({
                    "secret": totp.secret_base32(),
                    "otpauth_uri": totp.otpauth_uri(),
                }))
        }
        Ok(None) => failure_response(&[Failure::new(
            StatusCode::CONFLICT,
            "mfa_already_enabled",
            "Two-factor authentication is already enabled",
        )]),
        Err(error) => error.response(),
    }
}

/// `200 {"recovery_codes":[…10]}`: the pending secret is confirmed by a code of it; every
/// other session of the user ends. `400 invalid_code` otherwise.
pub async fn confirm_totp(
    req: HttpRequest,
    body: web::Payload,
    user: Authenticated<User>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    let request = AuthRequest::from_handler(&req, body);
    let [code] = match required(&request, ["code"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    match auth.mfa.confirm(&user, &code).await {
        Ok(Some(codes)) => {
            record(
                &audit,
                &req,
                Event::MfaEnable,
                audit::EventOutcome::Success,
                &user,
            )
            .await;
            let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
            HttpResponse::Ok()
                .insert_header((CACHE_CONTROL, "no-store"))
                .insert_header((PRAGMA, "no-cache"))
                .json(serde_json::json!({ "recovery_codes": codes }))
        }
        Ok(None) => {
            record(
                &audit,
                &req,
                Event::MfaEnable,
                audit::EventOutcome::Failure,
                &user,
            )
            .await;
            invalid_code(StatusCode::BAD_REQUEST)
        }
        Err(error) => error.response(),
    }
}

/// `204`: TOTP and its recovery codes are gone, proven by a TOTP or recovery `code`;
/// `403 invalid_code` otherwise.
pub async fn disable_totp(
    req: HttpRequest,
    body: web::Payload,
    user: Authenticated<User>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    if let Err(response) = step_up(&auth, &audit, &req, &user).await {
        return response;
    }
    let request = AuthRequest::from_handler(&req, body);
    let [code] = match required(&request, ["code"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    match auth.mfa.check_code(&user, classify(&code)).await {
        Ok(true) => {}
        Ok(false) => {
            record(
                &audit,
                &req,
                Event::MfaDisable,
                audit::EventOutcome::Failure,
                &user,
            )
            .await;
            return invalid_code(StatusCode::FORBIDDEN);
        }
        Err(error) => return error.response(),
    }
    match auth.mfa.disable(&user).await {
        Ok(_) => {
            tracing::info!(user_id = %user.id, "TOTP disabled");
            record(
                &audit,
                &req,
                Event::MfaDisable,
                audit::EventOutcome::Success,
                &user,
            )
            .await;
            HttpResponse::NoContent().finish()
        }
        Err(error) => unexpected(error.into_strategy_error("removing the second factor")),
    }
}

/// `POST /login/mfa[?session=cookie]`: `mfa_token` and `code` (or `recovery_code`) → the
/// login body (or, with `?session=cookie`, `{"user"}` and the session cookie). A wrong
/// code is `401 invalid_code` and counts for the account's throttle; an unknown, used or
/// expired token, or one that has had 5 wrong codes, is `400 invalid_grant`.
pub async fn login_mfa(
    req: HttpRequest,
    body: web::Payload,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    // `?session=cookie` from another site is refused before anything is checked or counted.
    if let Err(refused) = crate::browser::login_mode(&req, &auth) {
        return failure_response(&[refused]);
    }
    let request = AuthRequest::from_handler(&req, body);
    let [token, code, recovery] =
        match read_fields(&request, ["mfa_token", "code", "recovery_code"]).await {
            Ok(fields) => fields.map(|f| f.filter(|v| !v.is_empty())),
            Err(failure) => return failure_response(&[failure]),
        };
    let Some(token) = token else {
        return invalid_request("The mfa_token field is required");
    };
    let code = match (code.as_deref(), recovery.as_deref()) {
        (Some(code), _) => classify(code),
        (None, Some(recovery)) => Code::Recovery(recovery),
        (None, None) => return invalid_request("A code or a recovery_code is required"),
    };
    let user = match auth.mfa.challenge_user(&token).await {
        Ok(Some(user)) => user,
        Ok(None) => return invalid_grant(),
        Err(error) => return unexpected(error.into_strategy_error("reading the mfa_token")),
    };
    match auth.mfa.count_attempt(&user.email).await {
        Ok(Attempt::Allowed) => {}
        Ok(Attempt::Throttled { retry_after }) => {
            record(
                &audit,
                &req,
                Event::MfaLogin,
                audit::EventOutcome::Throttled,
                &user,
            )
            .await;
            return failure_response(&[
                Failure::throttled(retry_after).with_reason("account throttled")
            ]);
        }
        Err(error) => return unexpected(error.into_strategy_error("counting the attempt")),
    }
    let proof = match auth.mfa.proof(&user, code).await {
        Ok(proof) => proof,
        Err(error) => return error.response(),
    };
    match auth.mfa.redeem(&token, &user, &proof).await {
        Ok(Redeemed::Done { amr }) => {
            let user = User {
                amr: Amr::from_stored(&amr).with(Amr::OTP).into_vec(),
                ..user
            };
            complete_login(&req, &auth, &audit, user, LoginMethod::SecondFactor).await
        }
        Ok(Redeemed::WrongCode) => {
            record(
                &audit,
                &req,
                Event::MfaLogin,
                audit::EventOutcome::Failure,
                &user,
            )
            .await;
            invalid_code(StatusCode::UNAUTHORIZED)
        }
        Ok(Redeemed::InvalidGrant) => invalid_grant(),
        Err(error) => unexpected(error.into_strategy_error("redeeming the mfa_token")),
    }
}

/// RFC 9470 step-up for the sensitive routes, audited when it refuses.
pub(super) async fn step_up(
    auth: &Auth,
    audit: &Audit,
    req: &HttpRequest,
    user: &User,
) -> Result<(), HttpResponse> {
    let refused = auth.mfa.step_up(user).await;
    if let Err(response) = &refused
        && response.status() == StatusCode::UNAUTHORIZED
    {
        record(
            audit,
            req,
            Event::StepUp,
            audit::EventOutcome::Failure,
            user,
        )
        .await;
    }
    refused
}

/// Six ASCII digits are a TOTP code; anything else is tried as a recovery code.
fn classify(code: &str) -> Code<'_> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Code::Totp(code)
    } else if passport_actix::mfa::RecoveryCode::hash_presented(code).is_some() {
        Code::Recovery(code)
    } else {
        Code::Totp(code)
    }
}

async fn record(
    audit: &Audit,
    req: &HttpRequest,
    event: Event,
    outcome: audit::EventOutcome,
    user: &User,
) {
    let entry = Entry::new(event, outcome)
        .user(user.id)
        .session(user.session_id.map(|id| id.to_string()).as_deref());
    audit.record(req, entry).await;
}

fn invalid_grant() -> HttpResponse {
    failure_response(&[Failure::bad_request(
        "invalid_grant",
        "The mfa_token is invalid, expired or used up",
    )])
}

fn invalid_request(message: &'static str) -> HttpResponse {
    failure_response(&[Failure::bad_request("invalid_request", message)])
}
