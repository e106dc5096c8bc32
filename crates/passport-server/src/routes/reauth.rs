//! Re-authentication on sensitive routes (password change, account deletion, TOTP changes):
//! the required fields, the password check with the login's throttle, and the audit of a
//! refusal.

use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use passport_actix::{AuthRequest, Failure, FailureKind, Outcome, failure_response, read_fields};

use crate::audit::{self, Audit, Entry, Event};
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::store::User;

/// Reads `names` from the body (JSON or form), every one required and non-empty; a missing
/// one is `400 missing_credentials`.
pub(super) async fn required<const N: usize>(
    request: &AuthRequest,
    names: [&str; N],
) -> Result<[String; N], HttpResponse> {
    let fields = read_fields(request, names)
        .await
        .map_err(|failure| failure_response(&[failure]))?;
    if fields
        .iter()
        .all(|f| f.as_deref().is_some_and(|v| !v.is_empty()))
    {
        return Ok(fields.map(Option::unwrap_or_default));
    }
    let message = match names.as_slice() {
        [one] => format!("Missing credentials: {one} is required"),
        _ => format!(
            "Missing credentials: both {} are required",
            names.join(" and ")
        ),
    };
    Err(failure_response(&[Failure::missing_credentials(message)]))
}

/// Checks the user's password like a login (throttle included). A wrong password is
/// `403 invalid_credentials` (the token is fine; the proof is not), a throttled account `429`.
pub(super) async fn reauthenticate(
    auth: &Auth,
    user: &User,
    password: &str,
) -> Result<(), HttpResponse> {
    match auth.passwords.check_password(&user.email, password).await {
        Outcome::Success { user: checked, .. } if checked.id == user.id => Ok(()),
        Outcome::Success { .. } => Err(forbidden()),
        Outcome::Fail(failure) if failure.kind() == FailureKind::InvalidCredentials => {
            Err(forbidden())
        }
        Outcome::Fail(failure) => Err(failure_response(&[failure])),
        Outcome::Error(error) => Err(unexpected(error)),
        Outcome::Pass | Outcome::Redirect(_) => Err(forbidden()),
    }
}

/// Audits a refused re-authentication (a wrong password or the throttle).
pub(super) async fn refused(
    audit: &Audit,
    req: &HttpRequest,
    event: Event,
    user: &User,
    response: &HttpResponse,
) {
    let outcome = match response.status() {
        StatusCode::FORBIDDEN => audit::EventOutcome::Failure,
        StatusCode::TOO_MANY_REQUESTS => audit::EventOutcome::Throttled,
        _ => return,
    };
    let entry = Entry::new(event, outcome)
        .user(user.id)
        .session(user.session_id.map(|id| id.to_string()).as_deref());
    audit.record(req, entry).await;
}

fn forbidden() -> HttpResponse {
    failure_response(&[Failure::new(
        StatusCode::FORBIDDEN,
        "invalid_credentials",
        "The password is not correct",
    )])
}
