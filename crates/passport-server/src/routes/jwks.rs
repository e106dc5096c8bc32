//! `GET /.well-known/jwks.json`: the public keys that verify this server's tokens.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::auth::Auth;
use crate::keys::JWKS_MAX_AGE_SECONDS;

/// `200 {"keys":[…]}`: every accepted public key as a JWK (`{"keys":[]}` with HS256), with
/// `Cache-Control: public, max-age=…`.
pub async fn jwks(auth: web::Data<Auth>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECONDS}"),
        ))
        .body(auth.jwks.clone())
}
