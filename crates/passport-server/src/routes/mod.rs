//! The HTTP routes.

mod account;
mod bench;
mod health;
mod jwks;
mod login;
mod logout;
mod mfa;
mod oidc;
mod profile;
mod reauth;
mod refresh;
mod signup;
mod user_sessions;

pub use account::{change_password, delete_account};
pub use bench::{BareVerifier, bench_bare, bench_db, bench_guarded, bench_plain};
pub use health::{health, ready};
pub use jwks::jwks;
pub use login::login;
pub(crate) use login::{LoginMethod, complete_login};
pub use logout::logout;
pub use mfa::{confirm_totp, disable_totp, enroll_totp, login_mfa};
pub use oidc::{begin as oidc_begin, callback as oidc_callback};
pub use profile::profile;
pub use refresh::refresh;
pub use signup::signup;
pub use user_sessions::{delete_session, list_sessions};

/// Middleware: `HEAD` is answered wherever `GET` is (RFC 9110 §9.3.2) — the request is routed
/// as a `GET`, and actix-http, which remembers the method it parsed, sends the headers only.
pub async fn head_as_get(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}
