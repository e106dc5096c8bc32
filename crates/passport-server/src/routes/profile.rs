//! `GET /user/profile`, behind the "jwt" strategy.

use actix_web::HttpResponse;
use actix_web::http::header::CACHE_CONTROL;
use passport_actix::Authenticated;
use serde::Serialize;

use crate::store::User;

/// The body, serialized straight from borrowed fields (no intermediate `serde_json::Value`:
/// this is the hottest route, and the tree of a `json!` costs an allocation per field).
#[derive(Serialize)]
struct Profile<'a> {
    message: &'static str,
    user: &'a User,
    /// Absent when the request was authenticated by the session cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

/// `200 {"message":"You made it to the secure route","user":{"id","email"},"token":"<jwt>"}`.
pub async fn profile(user: Authenticated<User>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(Profile {
            message: "You made it to the secure route",
            user: user.user(),
            token: user.info().raw_token(),
        })
}
