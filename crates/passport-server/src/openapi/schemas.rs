//! The common bodies of the API as OpenAPI schemas (errors, credentials, users, tokens,
//! sessions). A leaf: the document and the mail routes' additions both use them.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"error","message"}`: the body of every 4xx and 5xx.
#[derive(Serialize, ToSchema)]
pub struct Error {
    /// A machine code (`invalid_credentials`, `email_taken`, `invalid_grant`, …).
    #[schema(example = "invalid_credentials")]
    pub error: String,
    /// A human-readable message.
    #[schema(example = "Invalid email or password")]
    pub message: String,
}

/// The fields of `/signup` and `/login` (JSON or form).
#[derive(Serialize, ToSchema)]
pub struct Credentials {
    /// An email address (normalized: trimmed, lower-cased domain, NFKC, IDNA).
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// At least 8 characters, at most 72 bytes, not a common password.
    #[schema(example = "correct horse battery")]
    pub password: String,
}

/// A user as responses show it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// The user id (a UUID).
    #[schema(example = "5f0c8f9e-3b7a-4a8e-9a57-3f1c2d4e5b6a")]
    pub id: String,
    /// The normalized email.
    pub email: String,
}

/// `201` of `/signup`.
#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    /// Always `Signup successful`.
    #[schema(example = "Signup successful")]
    pub message: String,
    /// The new user.
    pub user: UserView,
}

/// `200` of `/login` and `/token/refresh`.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// The access token (a JWT).
    pub token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the access token expires.
    #[schema(example = 3600)]
    pub expires_in: u64,
    /// An opaque refresh token, for `/token/refresh` (used up when presented).
    pub refresh_token: String,
}

/// The field of `/token/refresh` (JSON or form).
#[derive(Serialize, ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from `/login` or an earlier refresh.
    pub refresh_token: String,
}

/// The fields of `POST /user/password` (JSON or form).
#[derive(Serialize, ToSchema)]
pub struct PasswordChange {
    /// The current password (re-authentication; counts toward the login throttle).
    pub current_password: String,
    /// The new password (the signup policy applies).
    pub new_password: String,
}

/// The field of `DELETE /user` (JSON or form).
#[derive(Serialize, ToSchema)]
pub struct AccountDeletion {
    /// The current password (re-authentication).
    pub password: String,
}

/// `200` of `/user/profile`.
#[derive(Serialize, ToSchema)]
pub struct Profile {
    /// Always `You made it to the secure route`.
    #[schema(example = "You made it to the secure route")]
    pub message: String,
    /// The authenticated user.
    pub user: UserView,
    /// The access token the request carried (absent when authenticated by the session cookie).
    pub token: Option<String>,
}

/// `200` of `/login?session=cookie`: the user; the session is in the `Set-Cookie`.
#[derive(Serialize, ToSchema)]
pub struct CookieLogin {
    /// The user who logged in.
    pub user: UserView,
}

/// `200` of `/login`: the token pair, or with `?session=cookie` the user alone.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    /// Without `session`: the token pair.
    Tokens(TokenPair),
    /// With `?session=cookie`: `{"user"}`, the session in `Set-Cookie`.
    Cookie(CookieLogin),
}

/// One live session of the caller.
#[derive(Serialize, ToSchema)]
pub struct SessionItem {
    /// The session id (the access tokens' `sid`).
    pub id: String,
    /// When it started (RFC 3339, UTC).
    #[schema(example = "2026-12-02T16:20:04Z")]
    pub created_at: String,
    /// When a request last used it (RFC 3339, UTC; updated at most once a minute).
    pub last_seen_at: String,
    /// `token` (a login body) or `cookie` (`?session=cookie`).
    #[schema(example = "cookie")]
    pub kind: String,
    /// Whether the request was made with this session.
    pub current: bool,
}

/// `200` of `GET /user/sessions`.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    /// The caller's live sessions, newest first.
    pub sessions: Vec<SessionItem>,
}

/// `{"keys":[…]}`: every accepted public key as a JWK (RFC 7517); empty with HS256.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    /// The keys (`kty`, `kid`, `alg`, `use`, and the public parameters).
    pub keys: Vec<serde_json::Value>,
}

/// `200` of `/health` and `/ready`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` (health) or `ready` (readiness).
    #[schema(example = "ok")]
    pub status: String,
}
