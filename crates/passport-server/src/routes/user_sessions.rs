//! `GET /user/sessions` and `DELETE /user/sessions/{id}`: where am I logged in, and ending
//! one of those sessions (behind the "jwt" and "session" strategies).

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::clock::now_ms;
use passport_actix::{Authenticated, ErrorBody};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{Audit, Entry, Event, EventOutcome};
use crate::auth::Auth;
use crate::browser;
use crate::errors::unexpected;
use crate::store::{Store, User};

/// One session of the list.
#[derive(Serialize)]
struct Listed {
    id: String,
    created_at: String,
    last_seen_at: String,
    kind: &'static str,
    current: bool,
}

/// `200 {"sessions":[{"id","created_at","last_seen_at","kind","current"}]}`: the caller's live
/// sessions, newest first. The current session was, by definition, seen now.
pub async fn list_sessions(user: Authenticated<User>, store: web::Data<Store>) -> HttpResponse {
    let sessions = match store.live_sessions(user.id).await {
        Ok(sessions) => sessions,
        Err(error) => return unexpected(error.into_strategy_error("listing sessions")),
    };
    let now = now_ms();
    let listed: Vec<Listed> = sessions
        .into_iter()
        .map(|s| {
            let current = Some(s.id) == user.session_id;
            let last_seen = if current {
                now.max(s.last_seen_at_ms)
            } else {
                s.last_seen_at_ms
            };
            Listed {
                id: s.id.to_string(),
                created_at: browser::rfc3339(s.created_at_ms),
                last_seen_at: browser::rfc3339(last_seen),
                kind: if s.cookie { "cookie" } else { "token" },
                current,
            }
        })
        .collect();
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "sessions": listed }))
}

/// `204`: the session ends as with a logout (everywhere within a second); `404
/// session_not_found` for an id that is not one of the caller's live sessions.
pub async fn delete_session(
    req: HttpRequest,
    path: web::Path<String>,
    user: Authenticated<User>,
    store: web::Data<Store>,
    auth: web::Data<Auth>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    let not_found = || {
        ErrorBody::new("session_not_found", "No live session of yours has this id")
            .response(StatusCode::NOT_FOUND)
    };
    let Ok(id) = Uuid::parse_str(&path.into_inner()) else {
        return not_found();
    };
    match store.revoke_own_session(user.id, id).await {
        Ok(true) => {
            tracing::info!(user_id = %user.id, session_id = %id, "session deleted");
            let entry = Entry::new(Event::SessionDeletion, EventOutcome::Success)
                .user(user.id)
                .session(Some(&id.to_string()));
            audit.record(&req, entry).await;
            let done = HttpResponse::NoContent().finish();
            if browser::by_cookie(&user) && user.session_id == Some(id) {
                browser::clearing_cookie(&auth.browser, done)
            } else {
                done
            }
        }
        Ok(false) => not_found(),
        Err(error) => unexpected(error.into_strategy_error("revoking a session")),
    }
}
