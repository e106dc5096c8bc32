//! Passwordless login with magic links: `POST /login/email` makes a one-time link (printed
//! here, where a real app mails it), and `POST /login/email/verify`, guarded by the
//! `"magic-link"` strategy, logs its user in once.
//!
//! ```sh
//! cargo run -p passport-actix --example magic_link
//! curl -X POST localhost:8081/login/email -d email=ada@example.com      # prints the link
//! curl -X POST localhost:8081/login/email/verify -d token=<the token>   # {"user":"ada@example.com"}
//! ```
//!
//! The in-memory [`MemoryLinkStore`] keeps the links; a server implements
//! [`passport_actix::link::LinkStore`] over its database and writes the mail in the same
//! transaction as the link (see passport-server's outbox).

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use passport_actix::link::{LinkPurpose, MagicLinkStrategy, MemoryLinkStore, OneTimeLinks};
use passport_actix::{Authenticated, Passport};
use serde::Deserialize;

type Links = OneTimeLinks<MemoryLinkStore<String>>;

#[derive(Deserialize)]
struct EmailForm {
    email: String,
}

/// Always `202`, whatever the address (no enumeration); the link goes "by mail" (stdout).
async fn send_link(links: web::Data<Links>, form: web::Form<EmailForm>) -> HttpResponse {
    let email = form.into_inner().email.trim().to_lowercase();
    match links.issue(email.clone(), LinkPurpose::MagicLogin).await {
        Ok(token) => {
            let url = LinkPurpose::MagicLogin.url("http://localhost:8081", &token);
            println!("mail to {email}: log in with {url}");
        }
        Err(error) => eprintln!("cannot save the link: {error}"),
    }
    HttpResponse::Accepted().json(serde_json::json!({ "message": "A link is on its way" }))
}

/// Reached only when the `"magic-link"` strategy accepted the token.
async fn logged_in(user: Authenticated<String>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "user": user.into_inner() }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let links: Links = OneTimeLinks::new(Arc::new(MemoryLinkStore::new()))
        .ttl(LinkPurpose::MagicLogin, Duration::from_secs(900));
    let mut passport = Passport::new();
    passport.register("magic-link", MagicLinkStrategy::new(links.clone()));
    let guard = passport
        .authenticate("magic-link")
        .map_err(std::io::Error::other)?;
    let links = web::Data::new(links);
    println!("listening on http://localhost:8081");
    HttpServer::new(move || {
        App::new()
            .app_data(links.clone())
            .route("/login/email", web::post().to(send_link))
            .service(
                web::resource("/login/email/verify")
                    .wrap(guard.clone())
                    .route(web::post().to(logged_in)),
            )
    })
    .bind(("127.0.0.1", 8081))?
    .run()
    .await
}
