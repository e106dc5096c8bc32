//! `GET /auth/{provider}` and `GET /auth/{provider}/callback`: "log in with an OpenID
//! provider".

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::{ErrorBody, Outcome, failure_response};

use super::login::{LoginMethod, complete_login};
use crate::audit::Audit;
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::oidc::Providers;
use crate::oidc::linking::user_of;
use crate::store::Store;

fn unknown_provider() -> HttpResponse {
    ErrorBody::new("unknown_provider", "No OpenID provider has this name")
        .response(StatusCode::NOT_FOUND)
}

/// `GET /auth/{provider}`: `302` to the provider, with the flow cookie.
pub async fn begin(path: web::Path<String>, providers: web::Data<Providers>) -> HttpResponse {
    let Some(strategy) = providers.get(&path) else {
        return unknown_provider();
    };
    match strategy.begin().await {
        Outcome::Redirect(redirect) => redirect.into_response(),
        Outcome::Error(error) => unexpected(error),
        Outcome::Fail(failure) => failure_response(&[failure]),
        Outcome::Success { .. } | Outcome::Pass => unexpected(passport_actix::StrategyError::msg(
            "OIDC first leg gave no redirect",
        )),
    }
}

/// `GET /auth/{provider}/callback`: like `/login`, a token pair and a new session.
pub async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    providers: web::Data<Providers>,
    store: web::Data<Store>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    let Some(strategy) = providers.get(&path) else {
        return unknown_provider();
    };
    // The flow cookie is deleted once the flow is over; a callback whose `state` is not this
    // browser's (a forged link) leaves the browser's own flow alone.
    let mut keep_cookie = false;
    let mut response = match strategy.callback(&req).await {
        Outcome::Success { user: claims, .. } => login(&req, &claims, &store, &auth, &audit).await,
        Outcome::Fail(failure) => {
            if let Some(reason) = failure.reason() {
                tracing::info!(provider = %path, code = failure.code(), reason, "OIDC login refused");
            }
            keep_cookie = failure.code() == "state_mismatch";
            failure_response(&[failure])
        }
        Outcome::Error(error) => unexpected(error),
        Outcome::Redirect(redirect) => redirect.into_response(),
        Outcome::Pass => unexpected(passport_actix::StrategyError::msg("OIDC callback passed")),
    };
    if !keep_cookie {
        let _ = response.add_cookie(&strategy.removal_cookie());
    }
    response.headers_mut().insert(
        CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Finds or creates the user of a verified identity and starts a session.
async fn login(
    req: &HttpRequest,
    claims: &passport_actix::oidc::OidcClaims,
    store: &Store,
    auth: &Auth,
    audit: &Audit,
) -> HttpResponse {
    match user_of(claims, store).await {
        Ok(user) => complete_login(req, auth, audit, user, LoginMethod::OpenId).await,
        Err(refusal) => refusal,
    }
}
