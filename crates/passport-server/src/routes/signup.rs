//! `POST /signup`, guarded by the "signup" strategy, which creates the user.

use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::Authenticated;
use serde_json::json;

use crate::audit::{Audit, Entry, Event, EventOutcome};
use crate::store::User;

/// `201 {"message":"Signup successful","user":{"id","email"}}`.
pub async fn signup(
    req: HttpRequest,
    user: Authenticated<User>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    tracing::info!(user_id = %user.id, "user signed up");
    audit
        .record(
            &req,
            Entry::new(Event::Signup, EventOutcome::Success).user(user.id),
        )
        .await;
    HttpResponse::Created().json(json!({ "message": "Signup successful", "user": user.user() }))
}
