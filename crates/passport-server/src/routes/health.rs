//! `GET /health` (the process is up) and `GET /ready` (the database answers).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use passport_actix::ErrorBody;
use serde_json::json;

use crate::store::Store;

/// Liveness: always `200 {"status":"ok"}`.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: `200 {"status":"ready"}`, or `503` when the database does not answer in time.
pub async fn ready(store: web::Data<Store>) -> HttpResponse {
    match store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            ErrorBody::new("service_unavailable", "The database is not reachable")
                .response(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}
