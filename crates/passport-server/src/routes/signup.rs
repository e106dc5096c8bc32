//! `POST /signup`, guarded by the "signup" strategy, which creates the user.

use actix_web::HttpResponse;
use passport_actix::Authenticated;
use serde_json::json;

use crate::store::User;

/// `201 {"message":"Signup successful","user":{"id","email"}}`.
pub async fn signup(user: Authenticated<User>) -> HttpResponse {
    tracing::info!(user_id = %user.id, "user signed up");
    HttpResponse::Created().json(json!({ "message": "Signup successful", "user": user.user() }))
}
