//! Routes for the load script only (mounted when `BENCH_ROUTES=true`): the same work as the
//! real routes with parts taken away, so that ratios isolate the cost of each part.

use actix_web::{HttpResponse, web};
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
