//! The demo page at `GET /demo`: the tutorial's flow (sign up, log in, profile, refresh, log
//! out) in a browser, showing each request and response.
//!
//! One HTML file with a little inline JavaScript and no build step, embedded in the binary. Its
//! API base URL is its own origin unless `?api=<url>` names another; served by this server, its
//! Content-Security-Policy only lets it call this server (so a crafted `?api=` link cannot send
//! a visitor's password elsewhere). Served as a file from another origin, it calls the API
//! cross-origin, which needs that origin in `CORS_ALLOWED_ORIGINS`; the browser test in
//! `tests/api/demo.rs` does exactly that.
//!
//! Its "Browser session" box logs in with `?session=cookie` instead (same origin only): the
//! session then lives in an HttpOnly cookie the page never sees, and the page lists the
//! sessions (`GET /user/sessions`); `tests/api/cookies.rs` drives that mode in Chromium.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};

/// The page.
pub const PAGE: &str = include_str!("../static/demo.html");

/// The policy `/demo` is served with: nothing loaded from elsewhere, calls to this server only,
/// never framed.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'";

/// `GET /demo` (mounted unless `APP_ENV=production`, or with `DEMO=true`).
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE))
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}
