//! Routes for the load script only (mounted when `BENCH_ROUTES=true`): the same work as the
//! real routes with parts taken away, so that ratios isolate the cost of each part.

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use jsonwebtoken::{DecodingKey, Validation, decode};
use passport_actix::{Authenticated, ErrorBody};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::store::{Store, User};

/// Scenario (a): no auth, no database.
pub async fn bench_plain() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": "plain" }))
}

/// Scenario (b): behind "jwt-stateless" (token verified, no database).
pub async fn bench_guarded(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "message": "guarded", "user": user.user() }))
}

/// The user to look up in scenario (d).
#[derive(Deserialize)]
pub struct ById {
    id: Uuid,
}

/// Scenario (d): the database query of `/user/profile`, with no auth.
pub async fn bench_db(query: web::Query<ById>, store: web::Data<Store>) -> HttpResponse {
    match store.user_by_id(query.id).await {
        Ok(user) => HttpResponse::Ok().json(json!({ "message": "db", "user": user })),
        Err(_) => ErrorBody::new("service_unavailable", "The database is not reachable")
            .response(actix_web::http::StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// The floor of the load benchmark's ratios: what a bare actix-web route that verifies the
/// same HS256 token with `jsonwebtoken` costs, with no passport middleware, no cache and no
/// database (the "bare actix + jsonwebtoken" column of the performance issue).
pub struct BareVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl BareVerifier {
    /// Verifies HS256 tokens signed with `secret` for `issuer` and `audience`.
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Self {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }
}

/// The claims the bare route reads.
#[derive(Deserialize)]
struct BareClaims {
    sub: String,
    email: String,
}

/// Scenario (b0): the token from `Authorization: Bearer` or `?secret_token=`, verified with
/// `jsonwebtoken::decode`, echoed like `/user/profile` does; `401` otherwise.
pub async fn bench_bare(req: HttpRequest, verifier: web::Data<BareVerifier>) -> HttpResponse {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = header.or_else(|| {
        form_urlencoded::parse(req.query_string().as_bytes())
            .find(|(key, _)| key == crate::auth::TOKEN_QUERY_PARAMETER)
            .map(|(_, value)| value.into_owned())
    });
    let claims = token.and_then(|token| {
        decode::<BareClaims>(&token, &verifier.key, &verifier.validation)
            .ok()
            .map(|data| (data.claims, token))
    });
    match claims {
        Some((claims, token)) => HttpResponse::Ok().json(json!({
            "message": "bare",
            "user": { "id": claims.sub, "email": claims.email },
            "token": token,
        })),
        None => ErrorBody::new("invalid_token", "The token is missing or not valid")
            .response(actix_web::http::StatusCode::UNAUTHORIZED),
    }
}
