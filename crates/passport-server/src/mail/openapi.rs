//! The mail routes in the OpenAPI document: merged into it by [`extend`], with only the routes
//! these settings mount.

use serde::Serialize;
use utoipa::openapi::ResponseBuilder;
use utoipa::{OpenApi, ToSchema};

use super::{EmailVerification, MailSettings};
use crate::openapi::schemas::{CookieLogin, Error, TokenPair};

/// `202 {"message"}`: the same bytes whatever the address.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// A fixed sentence per route.
    #[schema(
        example = "If that address has an account, a link to reset its password is on its way"
    )]
    pub message: String,
}

/// The field of `/password/forgot`, `/login/email` and `/email/resend`.
#[derive(Serialize, ToSchema)]
pub struct EmailRequest {
    /// An email address.
    #[schema(example = "ada@example.com")]
    pub email: String,
}

/// The fields of `/password/reset`.
#[derive(Serialize, ToSchema)]
pub struct PasswordReset {
    /// The token of the reset link (`/reset-password?token=…`).
    pub token: String,
    /// The new password (the signup policy applies).
    pub new_password: String,
}

/// The field of `/login/email/verify`.
#[derive(Serialize, ToSchema)]
pub struct LinkToken {
    /// The token of the magic link (`/magic-login?token=…`).
    pub token: String,
}

/// The fields of `/email/verify`.
#[derive(Serialize, ToSchema)]
pub struct EmailVerify {
    /// The token of the verification link (`/verify-email?token=…`).
    pub token: String,
    /// The password given with the signup that sent this link.
    pub password: String,
}

/// Asks for a password-reset link.
#[utoipa::path(
    post, path = "/password/forgot", tag = "mail",
    request_body(content(
        (EmailRequest = "application/json"),
        (EmailRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 202, description = "Always (the same bytes and time for a registered, unknown, unverified or password-less address); only a registered address gets a mail, at most one per `MAIL_RESEND_SECONDS`", body = Accepted),
        (status = 400, description = "`missing_credentials`, `malformed_body`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 429, description = "`rate_limited`: per client address (every email alike), with `Retry-After`", body = Error),
    )
)]
#[allow(dead_code)]
fn forgot() {}

/// Sets a new password with a reset link; every session of the user ends.
#[utoipa::path(
    post, path = "/password/reset", tag = "mail",
    request_body(content(
        (PasswordReset = "application/json"),
        (PasswordReset = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 204, description = "Set: every session, pending MFA token and unused link of the user revoked, the login throttle cleared, the address verified"),
        (status = 400, description = "`invalid_link` (unknown, used, expired, superseded or malformed token: one body), `missing_credentials`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 422, description = "The signup policy codes for the new password (the link stays usable)", body = Error),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` or `service_unavailable`", body = Error),
    )
)]
#[allow(dead_code)]
fn reset() {}

/// Asks for a magic login link.
#[utoipa::path(
    post, path = "/login/email", tag = "mail",
    request_body(content(
        (EmailRequest = "application/json"),
        (EmailRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 202, description = "Always (one body); a registered, verified address gets a link (`MAGIC_LINK_TTL_SECONDS`)", body = Accepted),
        (status = 400, description = "`missing_credentials`, `malformed_body`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = Error),
    )
)]
#[allow(dead_code)]
fn login_email() {}

/// Logs in with a magic link: a new session.
#[utoipa::path(
    post, path = "/login/email/verify", tag = "mail",
    params(("session" = Option<String>, Query, description = "`cookie`: answer `{\"user\"}` and put the session in an HttpOnly cookie instead of tokens (refused cross-site)")),
    request_body(content(
        (LinkToken = "application/json"),
        (LinkToken = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "A token pair (`Cache-Control: no-store`); with `?session=cookie`, `{\"user\"}` and the session cookie", content(
            (TokenPair = "application/json"),
            (CookieLogin = "application/json")
        )),
        (status = 403, description = "`cross_origin_request`: `?session=cookie` from another site", body = Error),
        (status = 400, description = "`invalid_link`: unknown, used, expired, superseded or malformed (one body)", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    )
)]
#[allow(dead_code)]
fn login_email_verify() {}

/// Confirms an address (`EMAIL_VERIFICATION=required`) and logs in.
#[utoipa::path(
    post, path = "/email/verify", tag = "mail",
    params(("session" = Option<String>, Query, description = "`cookie`: answer `{\"user\"}` and put the session in an HttpOnly cookie instead of tokens (refused cross-site)")),
    request_body(content(
        (EmailVerify = "application/json"),
        (EmailVerify = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "The address is verified; a token pair (`Cache-Control: no-store`); with `?session=cookie`, `{\"user\"}` and the session cookie", content(
            (TokenPair = "application/json"),
            (CookieLogin = "application/json")
        )),
        (status = 400, description = "`invalid_link` (one body), `missing_credentials`", body = Error),
        (status = 403, description = "`invalid_credentials`: not the password of the signup that sent this link (the link stays usable); `cross_origin_request`: `?session=cookie` from another site", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 429, description = "`too_many_attempts` (the account) or `rate_limited`, with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` or `service_unavailable`", body = Error),
    )
)]
#[allow(dead_code)]
fn email_verify() {}

/// Sends a new verification link (`EMAIL_VERIFICATION=required`).
#[utoipa::path(
    post, path = "/email/resend", tag = "mail",
    request_body(content(
        (EmailRequest = "application/json"),
        (EmailRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 202, description = "Always (one body); an address waiting for confirmation gets a new link (earlier ones die)", body = Accepted),
        (status = 400, description = "`missing_credentials`, `malformed_body`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 429, description = "`rate_limited`, with `Retry-After`", body = Error),
    )
)]
#[allow(dead_code)]
fn email_resend() {}

/// The mail operations.
#[derive(OpenApi)]
#[openapi(
    paths(forgot, reset, login_email, login_email_verify, email_verify, email_resend),
    components(schemas(Accepted, EmailRequest, PasswordReset, LinkToken, EmailVerify)),
    tags((name = "mail", description = "Password reset, magic links and address verification (contract v3)"))
)]
pub struct MailApi;

/// Adds the mail routes these settings mount to `api`, and the `202` of `/signup` with
/// `EMAIL_VERIFICATION=required`.
pub fn extend(api: &mut utoipa::openapi::OpenApi, settings: &MailSettings) {
    let mut mail = MailApi::openapi();
    let required = settings.email_verification == EmailVerification::Required;
    for (path, mounted) in [
        ("/password/forgot", settings.password_reset),
        ("/password/reset", settings.password_reset),
        ("/login/email", settings.magic_links),
        ("/login/email/verify", settings.magic_links),
        ("/email/verify", required),
        ("/email/resend", required),
    ] {
        if !mounted {
            mail.paths.paths.remove(path);
        }
    }
    api.merge(mail);
    if required
        && let Some(operation) = api
            .paths
            .paths
            .get_mut("/signup")
            .and_then(|item| item.post.as_mut())
    {
        operation.responses.responses.insert(
            "202".to_owned(),
            ResponseBuilder::new()
                .description(
                    "`EMAIL_VERIFICATION=required`: `{\"message\":\"Check your inbox to confirm your address\"}` \
                     for a new and a registered address alike (no `201`, no `409`)",
                )
                .into(),
        );
    }
}
