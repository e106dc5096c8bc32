//! The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`.
//!
//! Each operation is declared with `#[utoipa::path]` on a marker function below (the handlers
//! in `routes/` stay plain actix functions); the schemas are the bodies the handlers write.
//! `tests/api/openapi.rs` proves the document parses as OpenAPI 3.1 and that its operations
//! are exactly the routes the server mounts.

pub mod schemas;

use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::configuration::Settings;

pub use schemas::{
    AccountDeletion, CookieLogin, Credentials, Error, Jwks, LoginResponse, PasswordChange, Profile,
    RefreshRequest, SessionItem, SessionList, SignupResponse, Status, TokenPair, UserView,
};

/// The two ways to send an access token.
struct TokenTransports;

impl Modify for TokenTransports {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("`Authorization: Bearer <jwt>` (RFC 6750 §2.1)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "secret_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                crate::auth::TOKEN_QUERY_PARAMETER,
                "`?secret_token=<jwt>` (the seeds' transport). Exactly one token per request: \
                 both transports at once is `400 invalid_request`.",
            ))),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "passport_session",
                "The HttpOnly session cookie of `POST /login?session=cookie` (named by \
                 `SESSION_COOKIE_NAME`; `__Host-passport_session` by default with `Secure`). A \
                 request that carries a token is judged by the token alone. Unsafe methods \
                 authenticated by the cookie from another site (`Origin` not this host nor a \
                 `CORS_ALLOWED_ORIGINS` entry; or `Sec-Fetch-Site: cross-site`) are `403 \
                 cross_origin_request`.",
            ))),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "passport-server",
        description = "Signup, login, sessions with rotating refresh tokens, and JWT-guarded \
                       routes. Every 4xx/5xx body is `{\"error\",\"message\"}`; request bodies \
                       are JSON or `application/x-www-form-urlencoded`; a wrong method on a \
                       route is `405` with `Allow`; any other path is `404 not_found`."
    ),
    paths(
        signup,
        login,
        refresh,
        logout,
        profile,
        change_password,
        delete_account,
        list_sessions,
        delete_session,
        jwks,
        health,
        ready,
        openapi_json_operation,
        docs_operation,
        demo_operation,
        oidc_begin,
        oidc_callback,
        mfa_enroll,
        mfa_confirm,
        mfa_disable,
        mfa_login
    ),
    components(schemas(
        Error,
        Credentials,
        UserView,
        SignupResponse,
        TokenPair,
        RefreshRequest,
        PasswordChange,
        AccountDeletion,
        Profile,
        CookieLogin,
        LoginResponse,
        SessionItem,
        SessionList,
        Jwks,
        Status,
        MfaEnrollRequest,
        MfaEnrollment,
        MfaCode,
        RecoveryCodes,
        MfaRequired,
        MfaLogin
    )),
    modifiers(&TokenTransports),
    tags(
        (name = "accounts", description = "Signup, login, password and account"),
        (name = "sessions", description = "Refresh tokens and logout (contract v2)"),
        (name = "keys", description = "Public keys"),
        (name = "openid", description = "Log in with an OpenID provider (when `OIDC_PROVIDERS` names some)"),
        (name = "two-factor", description = "TOTP (RFC 6238), recovery codes, `amr` (RFC 8176) and step-up (RFC 9470)"),
        (name = "operations", description = "Health, readiness and this document")
    )
)]
pub struct ApiDoc;

/// The paths of the OpenID routes, mounted when providers are configured.
const OPENID_PATHS: [&str; 2] = ["/auth/{provider}", "/auth/{provider}/callback"];

/// The document as JSON (OpenAPI 3.1.0) for the routes these settings mount: `/docs`, `/demo`
/// and the OpenID routes are in it only when they are mounted, the latter with the configured
/// provider names as the values of `{provider}`.
pub fn document(settings: &Settings) -> String {
    let mut api = ApiDoc::openapi();
    crate::mail::openapi::extend(&mut api, &settings.mail);
    if !settings.server.docs {
        api.paths.paths.remove("/docs");
    }
    if !settings.server.demo {
        api.paths.paths.remove("/demo");
    }
    // The session cookie under its configured name.
    if let Some(SecurityScheme::ApiKey(ApiKey::Cookie(cookie))) = api
        .components
        .as_mut()
        .and_then(|c| c.security_schemes.get_mut("session_cookie"))
    {
        cookie.name = settings.session_cookie.name.clone();
    }
    let providers: Vec<&String> = settings.oidc.providers.keys().collect();
    for path in OPENID_PATHS {
        if providers.is_empty() {
            api.paths.paths.remove(path);
            continue;
        }
        let parameters = api
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.get.as_mut())
            .and_then(|operation| operation.parameters.as_mut());
        for parameter in parameters.into_iter().flatten() {
            if parameter.name == "provider" {
                parameter.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(providers.iter().map(|name| name.as_str())))
                        .into(),
                );
            }
        }
    }
    api.to_json().unwrap_or_else(|_| String::from("{}"))
}

/// The interactive docs page: one self-contained HTML file (no external asset, no CDN) that
/// renders `/openapi.json` and can send requests to this server.
pub const DOCS_HTML: &str = include_str!("../../static/docs.html");

/// `GET /docs` (mounted unless `APP_ENV=production`, or with `DOCS=true`).
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline' 'self'",
        ))
        .body(DOCS_HTML)
}

/// `GET /openapi.json`.
pub async fn openapi_json(document: actix_web::web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(document.0.clone())
}

/// The rendered document, built once at start.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub String);

// ---- Operations: marker functions carrying the `#[utoipa::path]` of each route. ----------

/// Creates an account.
#[utoipa::path(
    post, path = "/signup", tag = "accounts",
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 201, description = "Created", body = SignupResponse),
        (status = 400, description = "`missing_credentials` (a field is missing), `malformed_body`, `bad_request`", body = Error),
        (status = 408, description = "`request_timeout`: the body did not arrive in time", body = Error),
        (status = 409, description = "`email_taken`: the email is registered (this does reveal it)", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 422, description = "`invalid_email`, `password_too_short`, `password_too_long`, `password_too_common`, …", body = Error),
        (status = 429, description = "`rate_limited` (per client address) or `too_many_connections`, with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` (with `Retry-After`): the password-hashing queue is full, nothing was checked; or `service_unavailable`: the database did not answer", body = Error),
    )
)]
#[allow(dead_code)]
fn signup() {}

/// Logs in: starts a session.
#[utoipa::path(
    post, path = "/login", tag = "accounts",
    params(("session" = Option<String>, Query, description = "`cookie`: answer `{\"user\"}` and put the session in an HttpOnly cookie (`Set-Cookie: <SESSION_COOKIE_NAME>=<opaque>; HttpOnly; SameSite=Lax; Path=/; Max-Age=…`, plus `Secure`) instead of tokens")),
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "A token pair (`Cache-Control: no-store`), its access token's `amr` `[\"pwd\"]`; with `?session=cookie`, `{\"user\"}` and the session cookie. For a user with TOTP: `{\"mfa_required\":true,\"mfa_token\",\"expires_in\":300}` (schema `MfaRequired`), no token and no cookie; finish with `POST /login/mfa`", body = LoginResponse),
        (status = 400, description = "`missing_credentials`, `malformed_body`, `bad_request`; `invalid_request` (a `session` other than `cookie`)", body = Error),
        (status = 403, description = "`cross_origin_request`: `?session=cookie` from another site (`Origin`, `Sec-Fetch-Site`)", body = Error),
        (status = 401, description = "`invalid_credentials`: byte-identical for an unknown email and a wrong password", body = Error),
        (status = 408, description = "`request_timeout`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 422, description = "`password_too_long` and other input refusals", body = Error),
        (status = 429, description = "`too_many_attempts` (the account) or `rate_limited` (the address), with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` (with `Retry-After`): the password-hashing queue is full, nothing was checked; or `service_unavailable`: the database did not answer", body = Error),
    )
)]
#[allow(dead_code)]
fn login() {}

/// Exchanges a refresh token for a new pair of the same session.
#[utoipa::path(
    post, path = "/token/refresh", tag = "sessions",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "A new token pair; the presented refresh token is used up", body = TokenPair),
        (status = 400, description = "`invalid_grant` (unknown, used up, expired, revoked; reuse after the grace revokes the session) or `invalid_request` (missing field)", body = Error),
        (status = 408, description = "`request_timeout`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    )
)]
#[allow(dead_code)]
fn refresh() {}

/// Ends sessions.
#[utoipa::path(
    post, path = "/logout", tag = "sessions",
    params(("scope" = Option<String>, Query, description = "`local` (default): this session; `global`: every session; `others`: every other session")),
    responses(
        (status = 204, description = "Done; revocation is seen by every instance within a second"),
        (status = 400, description = "`invalid_scope`, or `invalid_request` (two tokens, scope twice)", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes, with `WWW-Authenticate: Bearer`; `invalid_session` (the cookie)", body = Error),
        (status = 403, description = "`cross_origin_request`: by cookie, from another site", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn logout() {}

/// The authenticated user.
#[utoipa::path(
    get, path = "/user/profile", tag = "accounts",
    responses(
        (status = 200, description = "The user and the token (`Cache-Control: no-store`)", body = Profile),
        (status = 400, description = "`invalid_request`: more than one token", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes, with `WWW-Authenticate: Bearer`", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn profile() {}

/// Changes the password; every other session is revoked.
#[utoipa::path(
    post, path = "/user/password", tag = "accounts",
    request_body(content(
        (PasswordChange = "application/json"),
        (PasswordChange = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 204, description = "Changed; this session stays"),
        (status = 400, description = "`missing_credentials`, `malformed_body`, `invalid_request` (two tokens)", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes", body = Error),
        (status = 403, description = "`invalid_credentials`: wrong current password (counts toward the throttle)", body = Error),
        (status = 422, description = "The signup policy codes for the new password", body = Error),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` (with `Retry-After`): the password-hashing queue is full, nothing was checked; or `service_unavailable`: the database did not answer", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn change_password() {}

/// Deletes the account and every session.
#[utoipa::path(
    delete, path = "/user", tag = "accounts",
    request_body(content(
        (AccountDeletion = "application/json"),
        (AccountDeletion = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`missing_credentials`, `malformed_body`, `invalid_request` (two tokens)", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes", body = Error),
        (status = 403, description = "`invalid_credentials`: wrong password", body = Error),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` (with `Retry-After`): the password-hashing queue is full, nothing was checked; or `service_unavailable`: the database did not answer", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn delete_account() {}

/// The caller's live sessions ("where am I logged in").
#[utoipa::path(
    get, path = "/user/sessions", tag = "sessions",
    responses(
        (status = 200, description = "Live sessions, newest first (`Cache-Control: no-store`)", body = SessionList),
        (status = 400, description = "`invalid_request`: more than one token or session cookie", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes; `invalid_session`", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn list_sessions() {}

/// Ends one of the caller's sessions, as a logout would.
#[utoipa::path(
    delete, path = "/user/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "A session id from `GET /user/sessions`")),
    responses(
        (status = 204, description = "Ended; revocation is seen by every instance within a second (ending the current cookie session also clears the cookie)"),
        (status = 400, description = "`invalid_request`: more than one token or session cookie", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes; `invalid_session`", body = Error),
        (status = 403, description = "`cross_origin_request`: by cookie, from another site", body = Error),
        (status = 404, description = "`session_not_found`: not one of the caller's live sessions", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn delete_session() {}

/// The public keys that verify this server's tokens.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JWKS (`Cache-Control: public, max-age=300`)", body = Jwks))
)]
#[allow(dead_code)]
fn jwks() {}

/// Liveness.
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses((status = 200, description = "`{\"status\":\"ok\"}`", body = Status))
)]
#[allow(dead_code)]
fn health() {}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "`{\"status\":\"ready\"}`", body = Status),
        (status = 503, description = "`service_unavailable`", body = Error),
    )
)]
#[allow(dead_code)]
fn ready() {}

/// This document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json"))
)]
#[allow(dead_code)]
fn openapi_json_operation() {}

/// Interactive docs (development, or `DOCS=true`).
#[utoipa::path(
    get, path = "/docs", tag = "operations",
    responses((status = 200, description = "An HTML page rendering this document; every asset is served by this server", content_type = "text/html"))
)]
#[allow(dead_code)]
fn docs_operation() {}

/// The demo page (development, or `DEMO=true`).
#[utoipa::path(
    get, path = "/demo", tag = "operations",
    responses((status = 200, description = "An HTML page walking the tutorial's flow (sign up, log in, profile, refresh, log out) and showing each request and response", content_type = "text/html"))
)]
#[allow(dead_code)]
fn demo_operation() {}

/// Starts a login at an OpenID provider.
#[utoipa::path(
    get, path = "/auth/{provider}", tag = "openid",
    params(("provider" = String, Path, description = "A provider named in `OIDC_PROVIDERS` (lower case)")),
    responses(
        (status = 302, description = "To the provider's authorization endpoint, with the signed flow cookie `passport_oidc_{provider}` (state, nonce, PKCE verifier; 10 minutes)"),
        (status = 404, description = "`unknown_provider`: no provider of that name", body = Error),
        (status = 503, description = "`service_unavailable`: the provider cannot be reached (discovery)", body = Error),
    )
)]
#[allow(dead_code)]
fn oidc_begin() {}

/// The provider sends the browser back here: like `/login`, a token pair and a new session.
#[utoipa::path(
    get, path = "/auth/{provider}/callback", tag = "openid",
    params(
        ("provider" = String, Path, description = "A provider named in `OIDC_PROVIDERS` (lower case)"),
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The flow's state (must match the flow cookie)"),
        ("error" = Option<String>, Query, description = "The provider's error code, when it refused the login"),
    ),
    responses(
        (status = 200, description = "A token pair (`Cache-Control: no-store`); the flow cookie is deleted", body = TokenPair),
        (status = 400, description = "`missing_state_cookie`, `invalid_state_cookie`, `state_mismatch`, `missing_code`", body = Error),
        (status = 401, description = "`provider_error`, `code_rejected`, `invalid_id_token`", body = Error),
        (status = 403, description = "`email_not_verified`: a first login without a verified email", body = Error),
        (status = 404, description = "`unknown_provider`", body = Error),
        (status = 409, description = "`account_exists`: a first login whose email has an account (never merged)", body = Error),
        (status = 429, description = "`rate_limited`: shares `/login`'s per-address limit, with `Retry-After`", body = Error),
        (status = 503, description = "`service_unavailable`: the provider cannot be reached", body = Error),
    )
)]
#[allow(dead_code)]
fn oidc_callback() {}

/// The field of `POST /user/mfa/totp` (JSON or form).
#[derive(Serialize, ToSchema)]
pub struct MfaEnrollRequest {
    /// The current password (re-authentication; counts toward the login throttle).
    pub password: String,
}

/// `200` of `POST /user/mfa/totp`: a pending secret (SHA-1, 6 digits, 30 s).
#[derive(Serialize, ToSchema)]
pub struct MfaEnrollment {
    /// The secret in base 32 (RFC 4648, no padding), for manual entry.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// `otpauth://totp/<issuer>:<email>?secret=…&issuer=…`, for a QR code.
    pub otpauth_uri: String,
}

/// A code: six digits from the authenticator app (or, where allowed, a recovery code).
#[derive(Serialize, ToSchema)]
pub struct MfaCode {
    /// The code.
    #[schema(example = "123456")]
    pub code: String,
}

/// `200` of `POST /user/mfa/totp/confirm`.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes (80 bits each), shown once, stored only as hashes.
    pub recovery_codes: Vec<String>,
}

/// `200` of a login (`/login`, an OpenID callback) for a user with TOTP: no token yet.
#[derive(Serialize, ToSchema)]
pub struct MfaRequired {
    /// Always `true`.
    pub mfa_required: bool,
    /// An opaque token for `POST /login/mfa` (single use, at most 5 wrong codes).
    pub mfa_token: String,
    /// Seconds until the `mfa_token` expires (300).
    #[schema(example = 300)]
    pub expires_in: u64,
}

/// The fields of `POST /login/mfa` (JSON or form): `mfa_token` and `code` or `recovery_code`.
#[derive(Serialize, ToSchema)]
pub struct MfaLogin {
    /// From the first step's `mfa_required` answer.
    pub mfa_token: String,
    /// Six digits from the authenticator app.
    pub code: Option<String>,
    /// Or one of the recovery codes.
    pub recovery_code: Option<String>,
}

/// Starts TOTP enrolment (pending until confirmed; a new call replaces the pending secret).
#[utoipa::path(
    post, path = "/user/mfa/totp", tag = "two-factor",
    request_body(content(
        (MfaEnrollRequest = "application/json"),
        (MfaEnrollRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "The pending secret (`Cache-Control: no-store`); never shown again after confirmation", body = MfaEnrollment),
        (status = 400, description = "`missing_credentials`, `malformed_body`, `invalid_request` (two tokens)", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes; `insufficient_user_authentication` (RFC 9470, with `WWW-Authenticate`) for a TOTP user whose session lacks `otp`", body = Error),
        (status = 403, description = "`invalid_credentials`: wrong password (counts toward the throttle)", body = Error),
        (status = 409, description = "`mfa_already_enabled`", body = Error),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`", body = Error),
        (status = 503, description = "`server_busy` or `service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn mfa_enroll() {}

/// Confirms enrolment with a code of the pending secret; every other session ends.
#[utoipa::path(
    post, path = "/user/mfa/totp/confirm", tag = "two-factor",
    request_body(content(
        (MfaCode = "application/json"),
        (MfaCode = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "TOTP is on; ten recovery codes, shown once", body = RecoveryCodes),
        (status = 400, description = "`invalid_code` (wrong, reused, or nothing pending), `missing_credentials`, `malformed_body`", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn mfa_confirm() {}

/// Turns TOTP off, proven by a TOTP or recovery code.
#[utoipa::path(
    delete, path = "/user/mfa/totp", tag = "two-factor",
    request_body(content(
        (MfaCode = "application/json"),
        (MfaCode = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 204, description = "TOTP and its recovery codes are gone"),
        (status = 400, description = "`missing_credentials`, `malformed_body`", body = Error),
        (status = 401, description = "`invalid_token` and the RFC 6750 codes; `insufficient_user_authentication` (RFC 9470) for a session without `otp`", body = Error),
        (status = 403, description = "`invalid_code`", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    ),
    security(("bearer" = []), ("secret_token" = []), ("session_cookie" = []))
)]
#[allow(dead_code)]
fn mfa_disable() {}

/// The second step of a login: the `mfa_token` and a code.
#[utoipa::path(
    post, path = "/login/mfa", tag = "two-factor",
    params(("session" = Option<String>, Query, description = "`cookie`: answer `{\"user\"}` and put the session in an HttpOnly cookie instead of tokens (cross-site requests refused with `403 cross_origin_request`)")),
    request_body(content(
        (MfaLogin = "application/json"),
        (MfaLogin = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "The login body; the token's `amr` adds `otp` (a recovery code counts as `otp`)", body = TokenPair),
        (status = 400, description = "`invalid_grant`: the `mfa_token` is unknown, used, expired or has had 5 wrong codes; `invalid_request`: a field is missing, or a `session` other than `cookie`", body = Error),
        (status = 403, description = "`cross_origin_request`: `?session=cookie` from another site", body = Error),
        (status = 401, description = "`invalid_code`: wrong, malformed or already-used code (counts toward the account's throttle)", body = Error),
        (status = 408, description = "`request_timeout`", body = Error),
        (status = 413, description = "`payload_too_large`", body = Error),
        (status = 415, description = "`unsupported_media_type`", body = Error),
        (status = 429, description = "`too_many_attempts` (the account), with `Retry-After`", body = Error),
        (status = 503, description = "`service_unavailable`", body = Error),
    )
)]
#[allow(dead_code)]
fn mfa_login() {}
