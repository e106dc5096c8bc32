//! `GET /user/profile`, behind the "jwt" strategy.

use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use passport_actix::Authenticated;
use serde_json::json;

use crate::store::User;

/// `200 {"message":"You made it to the secure route","user":{"id","email"},"token":"<jwt>"}`.
pub async fn profile(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({
            "message": "You made it to the secure route",
            "user": user.user(),
            "token": user.info().raw_token(),
        }))
}
