//! The mail routes. Requests that may send a mail answer the same bytes whatever the address:
//! the work (the resend limit, the link, the outbox row) runs after the answer, in one
//! transaction, so neither the body, the status nor the time tells whether the address has an
//! account.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, Route, web};
use passport_actix::link::{LinkPurpose, LinkTokenHash, invalid_link};
use passport_actix::local::{NewPasswordError, normalize_email};
use passport_actix::{
    AuthRequest, Authenticate, Failure, FailureKind, Outcome, failure_response, read_fields,
};
use serde_json::json;

use super::{EmailVerification, Mail};
use crate::audit::{self, Audit, Entry, Event};
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::routes::{LoginMethod, complete_login};
use crate::store::{
    Eligible, LinkRequest, LinkRequestPlan, PendingSignup, SignupPlan, Store, User,
};

/// The answer of `/password/forgot`, `/login/email` and `/email/resend`.
pub const FORGOT_MESSAGE: &str =
    "If that address has an account, a link to reset its password is on its way";
/// The answer of `/login/email`.
pub const MAGIC_LINK_MESSAGE: &str =
    "If that address has an account, a link to log in is on its way";
/// The answer of `/email/resend`.
pub const RESEND_MESSAGE: &str =
    "If that address is waiting for confirmation, a new link is on its way";
/// The answer of a signup with `EMAIL_VERIFICATION=required`.
pub const SIGNUP_MESSAGE: &str = "Check your inbox to confirm your address";

fn accepted(message: &str) -> HttpResponse {
    HttpResponse::Accepted().json(json!({ "message": message }))
}

/// Reads `names` (JSON or form), each required and non-empty (else `400 missing_credentials`).
async fn fields<const N: usize>(
    req: &HttpRequest,
    body: web::Payload,
    names: [&str; N],
) -> Result<[String; N], HttpResponse> {
    let request = AuthRequest::from_handler(req, body);
    let fields = read_fields(&request, names)
        .await
        .map_err(|failure| failure_response(&[failure]))?;
    if fields
        .iter()
        .all(|f| f.as_deref().is_some_and(|v| !v.is_empty()))
    {
        return Ok(fields.map(Option::unwrap_or_default));
    }
    Err(failure_response(&[Failure::missing_credentials(format!(
        "Missing field: {} required",
        names.join(" and ")
    ))]))
}

/// Like [`fields`], but a missing or unreadable token is the link's one answer.
async fn token_fields<const N: usize>(
    req: &HttpRequest,
    body: web::Payload,
    names: [&str; N],
) -> Result<[Option<String>; N], HttpResponse> {
    let request = AuthRequest::from_handler(req, body);
    match read_fields(&request, names).await {
        Ok(fields) => Ok(fields),
        Err(failure) if failure.status() != StatusCode::BAD_REQUEST => {
            Err(failure_response(&[failure]))
        }
        Err(_) => Err(bad_link()),
    }
}

fn bad_link() -> HttpResponse {
    failure_response(&[invalid_link()])
}

/// Queues, after the answer, a link of `purpose` for the account of `raw_email` if it has one
/// that `eligible` admits (and the resend limit allows).
fn request_link(mail: &Mail, raw_email: &str, purpose: LinkPurpose, eligible: Eligible) {
    // An address that does not even parse has no account: nothing to do, same answer.
    let Ok(email) = normalize_email(raw_email) else {
        return;
    };
    let mail = mail.clone();
    actix_web::rt::spawn(async move {
        let compose = |user: &User| mail.link_mail(purpose, user);
        let plan = LinkRequestPlan {
            kind: purpose.as_str(),
            interval_ms: millis(mail.settings.resend_interval),
            eligible,
            compose: &compose,
        };
        match mail.store.request_link(&email, &plan).await {
            Ok(LinkRequest::Queued) => {
                tracing::info!(kind = purpose.as_str(), "mail queued");
                mail.queued(purpose.as_str());
            }
            Ok(LinkRequest::Suppressed) => {
                tracing::debug!(
                    kind = purpose.as_str(),
                    "mail held back by MAIL_RESEND_SECONDS"
                )
            }
            Ok(LinkRequest::NotApplicable) => {}
            Err(error) => tracing::warn!(%error, kind = purpose.as_str(), "queuing a mail failed"),
        }
    });
}

/// `POST /password/forgot`: always `202`; a registered address gets a reset link.
pub async fn forgot_password(
    req: HttpRequest,
    body: web::Payload,
    mail: web::Data<Mail>,
) -> HttpResponse {
    let [email] = match fields(&req, body, ["email"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    request_link(&mail, &email, LinkPurpose::PasswordReset, Eligible::Any);
    accepted(FORGOT_MESSAGE)
}

/// `POST /password/reset`: `204`, the password set and every session revoked.
pub async fn reset_password(
    req: HttpRequest,
    body: web::Payload,
    store: web::Data<Store>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    let [token, new_password] = match token_fields(&req, body, ["token", "new_password"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let Some(hash) = token.as_deref().and_then(LinkTokenHash::of_presented) else {
        return refused_link(&audit, &req, Event::PasswordReset).await;
    };
    let user = match store.peek_link(&hash, LinkPurpose::PasswordReset).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return refused_link(&audit, &req, Event::PasswordReset).await,
        Err(error) => return unexpected(error.into_strategy_error("reading a reset link")),
    };
    let Some(new_password) = new_password.filter(|p| !p.is_empty()) else {
        return failure_response(&[Failure::missing_credentials(
            "Missing field: new_password required",
        )]);
    };
    let password_hash = match auth
        .passwords
        .hash_new_password(&user.email, &new_password)
        .await
    {
        Ok(hash) => hash,
        Err(NewPasswordError::Policy(failure) | NewPasswordError::Busy(failure)) => {
            return failure_response(&[failure]);
        }
        Err(NewPasswordError::Hash(error)) => return unexpected(error),
    };
    match store.reset_password(&hash, password_hash.as_str()).await {
        Ok(Some(user)) => {
            tracing::info!(user_id = %user.id, "password reset by link; every session revoked");
            let entry =
                Entry::new(Event::PasswordReset, audit::EventOutcome::Success).user(user.id);
            audit.record(&req, entry).await;
            HttpResponse::NoContent().finish()
        }
        Ok(None) => refused_link(&audit, &req, Event::PasswordReset).await,
        Err(error) => unexpected(error.into_strategy_error("resetting a password")),
    }
}

async fn refused_link(audit: &Audit, req: &HttpRequest, event: Event) -> HttpResponse {
    let entry = Entry::new(event, audit::EventOutcome::Failure).detail("invalid_link");
    audit.record(req, entry).await;
    bad_link()
}

/// `POST /login/email`: always `202`; a registered, verified address gets a magic link.
pub async fn login_email(
    req: HttpRequest,
    body: web::Payload,
    mail: web::Data<Mail>,
) -> HttpResponse {
    let [email] = match fields(&req, body, ["email"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let eligible = if mail.verification_off() {
        Eligible::Any
    } else {
        Eligible::Verified
    };
    request_link(&mail, &email, LinkPurpose::MagicLogin, eligible);
    accepted(MAGIC_LINK_MESSAGE)
}

/// `POST /login/email/verify`: the magic-link strategy, then the login body.
pub async fn login_email_verify(
    req: HttpRequest,
    body: web::Payload,
    mail: web::Data<Mail>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    // `?session=cookie` and its cross-site refusal are judged before the link is used up.
    if let Err(refused) = crate::browser::login_mode(&req, &auth) {
        return failure_response(&[refused]);
    }
    let request = AuthRequest::from_handler(&req, body);
    match mail.magic.authenticate(&request).await {
        Outcome::Success { user, .. } => {
            let entry =
                Entry::new(Event::MagicLinkLogin, audit::EventOutcome::Success).user(user.id);
            audit.record(&req, entry).await;
            complete_login(&req, &auth, &audit, user, LoginMethod::MagicLink).await
        }
        Outcome::Fail(failure) if failure.code() == "invalid_link" => {
            refused_link(&audit, &req, Event::MagicLinkLogin).await
        }
        Outcome::Fail(failure) => failure_response(&[failure]),
        Outcome::Error(error) => unexpected(error),
        Outcome::Pass | Outcome::Redirect(_) => bad_link(),
    }
}

/// `POST /signup` with `EMAIL_VERIFICATION=required`: `202` for a new and a registered
/// address alike (the password is hashed in both cases).
pub async fn signup_pending(
    req: HttpRequest,
    body: web::Payload,
    mail: web::Data<Mail>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    let [raw_email, password] = match fields(&req, body, ["email", "password"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let email = match normalize_email(&raw_email) {
        Ok(email) => email,
        Err(failure) => return failure_response(&[failure]),
    };
    let password_hash = match auth.passwords.hash_new_password(&email, &password).await {
        Ok(hash) => hash,
        Err(NewPasswordError::Policy(failure) | NewPasswordError::Busy(failure)) => {
            return failure_response(&[failure]);
        }
        Err(NewPasswordError::Hash(error)) => return unexpected(error),
    };
    let verification = |user: &User| mail.link_mail(LinkPurpose::EmailVerification, user);
    let notice = |user: &User| mail.signup_notice(user);
    let plan = SignupPlan {
        email: &email,
        password_hash: password_hash.as_str(),
        interval_ms: millis(mail.settings.resend_interval),
        verification: &verification,
        notice: &notice,
    };
    match mail.store.signup_pending(&plan).await {
        Ok(outcome) => {
            let (kind, user) = match outcome {
                PendingSignup::Created(id) => {
                    let entry = Entry::new(Event::Signup, audit::EventOutcome::Success)
                        .user(id)
                        .detail("pending_verification");
                    audit.record(&req, entry).await;
                    (Some("email_verification"), Some(id))
                }
                PendingSignup::Replaced(id) => (Some("email_verification"), Some(id)),
                PendingSignup::Noticed(id) => (Some("signup_notice"), Some(id)),
                PendingSignup::Suppressed => (None, None),
            };
            if let Some(kind) = kind {
                mail.queued(kind);
            }
            tracing::info!(user_id = ?user, "signup awaiting confirmation (or noticed)");
            accepted(SIGNUP_MESSAGE)
        }
        Err(error) => unexpected(error.into_strategy_error("recording a signup")),
    }
}

/// `POST /email/verify`: the link and the signup's password; then the login body.
pub async fn verify_email(
    req: HttpRequest,
    body: web::Payload,
    store: web::Data<Store>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    if let Err(refused) = crate::browser::login_mode(&req, &auth) {
        return failure_response(&[refused]);
    }
    let [token, password] = match token_fields(&req, body, ["token", "password"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let Some(hash) = token.as_deref().and_then(LinkTokenHash::of_presented) else {
        return refused_link(&audit, &req, Event::EmailVerification).await;
    };
    let user = match store.peek_link(&hash, LinkPurpose::EmailVerification).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return refused_link(&audit, &req, Event::EmailVerification).await,
        Err(error) => return unexpected(error.into_strategy_error("reading a verification link")),
    };
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return failure_response(&[Failure::missing_credentials(
            "Missing field: password required",
        )]);
    };
    // The password of the signup that sent this link (a later signup revoked this link).
    match auth.passwords.check_password(&user.email, &password).await {
        Outcome::Success { user: checked, .. } if checked.id == user.id => {}
        Outcome::Fail(failure) if failure.kind() != FailureKind::InvalidCredentials => {
            return failure_response(&[failure]);
        }
        Outcome::Error(error) => return unexpected(error),
        _ => {
            let entry = Entry::new(Event::EmailVerification, audit::EventOutcome::Failure)
                .user(user.id)
                .detail("invalid_credentials");
            audit.record(&req, entry).await;
            return failure_response(&[Failure::new(
                StatusCode::FORBIDDEN,
                "invalid_credentials",
                "The password is not the one given at signup",
            )]);
        }
    }
    match store.verify_email(&hash, user.id).await {
        Ok(true) => {
            let entry =
                Entry::new(Event::EmailVerification, audit::EventOutcome::Success).user(user.id);
            audit.record(&req, entry).await;
            complete_login(&req, &auth, &audit, user, LoginMethod::EmailVerification).await
        }
        Ok(false) => refused_link(&audit, &req, Event::EmailVerification).await,
        Err(error) => unexpected(error.into_strategy_error("verifying an address")),
    }
}

/// `POST /email/resend`: always `202`; an address waiting for confirmation gets a new link.
pub async fn resend_verification(
    req: HttpRequest,
    body: web::Payload,
    mail: web::Data<Mail>,
) -> HttpResponse {
    let [email] = match fields(&req, body, ["email"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if mail.settings.email_verification == EmailVerification::Required {
        request_link(
            &mail,
            &email,
            LinkPurpose::EmailVerification,
            Eligible::Unverified,
        );
    }
    accepted(RESEND_MESSAGE)
}

/// Mounts the mail routes these settings turn on, each behind the per-address rate limit
/// (`/signup` keeps its own route and limit).
pub fn mount(cfg: &mut web::ServiceConfig, mail: &Mail) {
    let settings = &mail.settings;
    let mut routes: Vec<(&str, Route)> = Vec::new();
    if settings.password_reset {
        routes.push(("/password/forgot", web::post().to(forgot_password)));
        routes.push(("/password/reset", web::post().to(reset_password)));
    }
    if settings.magic_links {
        routes.push(("/login/email", web::post().to(login_email)));
        routes.push(("/login/email/verify", web::post().to(login_email_verify)));
    }
    if settings.email_verification == EmailVerification::Required {
        routes.push(("/email/verify", web::post().to(verify_email)));
        routes.push(("/email/resend", web::post().to(resend_verification)));
    }
    for (path, route) in routes {
        let limit = mail.limit.clone();
        cfg.service(
            web::resource(path)
                .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                    limit.clone().enforce(req, next)
                }))
                .route(route),
        );
    }
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
