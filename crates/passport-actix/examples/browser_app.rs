//! A small server-rendered app with browser sessions: a login form, a page behind the
//! `session` strategy, and a logout button — no JavaScript holds a credential.
//!
//! ```sh
//! cargo run -p passport-actix --example browser_app
//! # open http://127.0.0.1:8080/ and log in as ada@example.com / correct horse battery
//! ```
//!
//! No setup: sessions live in memory (a real app stores the digests in its database and looks
//! them up through a `LivenessCache`; see the `passport-server` crate). The cookie is not
//! `Secure` here because the example serves plain HTTP on loopback; in production use
//! `SessionCookie::new(true)` behind HTTPS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header::LOCATION;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use passport_actix::session::{RefreshToken, RefreshTokenHash, SessionCookie, SessionStrategy};
use passport_actix::{Authenticated, CrossOriginProtection, Passport, constant_time_eq};
use serde::Deserialize;

/// The one account of the example.
const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery";

/// Cookie digest → user: the session table.
type Sessions = Arc<Mutex<HashMap<RefreshTokenHash, String>>>;

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><meta charset=utf-8><title>browser_app</title>{body}"
        ))
}

fn see_other(to: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, to));
    response
}

async fn home() -> HttpResponse {
    page(
        "<h1>Log in</h1><form method=post action=/login>\
         <input name=email value=ada@example.com> \
         <input name=password type=password placeholder='correct horse battery'> \
         <button>Log in</button></form>",
    )
}

/// Serialize: a new random value for every login (never one the browser sent: fixation),
/// only its digest kept.
async fn login(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    sessions: web::Data<Sessions>,
    cookie: web::Data<SessionCookie>,
    protection: web::Data<CrossOriginProtection>,
) -> HttpResponse {
    // A login sets the cookie: another site must not log this browser in (login CSRF).
    if protection.check(&req).is_err() {
        return HttpResponse::Forbidden().body("cross-site login refused");
    }
    let right = constant_time_eq(form.email.as_bytes(), EMAIL.as_bytes())
        & constant_time_eq(form.password.as_bytes(), PASSWORD.as_bytes());
    if !right {
        return see_other("/").finish();
    }
    let value = RefreshToken::generate();
    if let Ok(mut table) = sessions.lock() {
        table.insert(value.hash(), form.email.clone());
    }
    see_other("/me")
        .cookie(cookie.issue(value.as_str()))
        .finish()
}

async fn me(user: Authenticated<String>) -> HttpResponse {
    page(&format!(
        "<h1>Hello {}</h1><form method=post action=/me/logout><button>Log out</button></form>",
        user.user()
    ))
}

async fn logout(
    req: HttpRequest,
    sessions: web::Data<Sessions>,
    cookie: web::Data<SessionCookie>,
) -> HttpResponse {
    if let passport_actix::session::Presented::One(value) = cookie.presented(&req)
        && let Some(digest) = RefreshTokenHash::of_presented(&value)
        && let Ok(mut table) = sessions.lock()
    {
        table.remove(&digest);
    }
    see_other("/").cookie(cookie.clear()).finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let sessions: Sessions = Arc::default();
    let cookie = SessionCookie::new(false);
    let protection = CrossOriginProtection::new();

    let mut passport = Passport::<String>::new();
    let table = Arc::clone(&sessions);
    // Deserialize: the cookie's digest → the user, or `None` (401).
    passport.register(
        "session",
        SessionStrategy::new(cookie.clone(), async move |digest: RefreshTokenHash| {
            Ok(table.lock().ok().and_then(|t| t.get(&digest).cloned()))
        })
        .cross_origin(protection.clone()),
    );
    let guard = passport
        .authenticate("session")
        .map_err(std::io::Error::other)?;

    println!("open http://127.0.0.1:8080/ and log in as {EMAIL} / {PASSWORD}");
    let (sessions, cookie, protection) = (
        web::Data::new(sessions),
        web::Data::new(cookie),
        web::Data::new(protection),
    );
    HttpServer::new(move || {
        App::new()
            .app_data(sessions.clone())
            .app_data(cookie.clone())
            .app_data(protection.clone())
            .route("/", web::get().to(home))
            .route("/login", web::post().to(login))
            .service(
                web::scope("/me")
                    .wrap(guard.clone())
                    .route("", web::get().to(me))
                    .route("/logout", web::post().to(logout)),
            )
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
