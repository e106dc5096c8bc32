//! `POST /logout[?scope=local|global|others]`, behind the "jwt" strategy.

use actix_web::{HttpRequest, HttpResponse};
use passport_actix::{Authenticated, Failure, failure_response};

use crate::audit::{Audit, Entry, Event, EventOutcome};
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::store::User;

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// This token's session (the default).
    Local,
    /// Every session of the user.
    Global,
    /// Every session of the user but this one.
    Others,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Global => "global",
            Self::Others => "others",
        }
    }
}

/// The `scope` query parameter; anything but one known value at most once is refused.
fn scope(req: &HttpRequest) -> Result<Scope, Failure> {
    let mut scopes = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(key, _)| key == "scope")
        .map(|(_, value)| value.into_owned());
    let scope = match (scopes.next(), scopes.next()) {
        (None, _) => return Ok(Scope::Local),
        (Some(scope), None) => scope,
        (Some(_), Some(_)) => {
            return Err(Failure::bad_request(
                "invalid_request",
                "The scope parameter was given more than once",
            ));
        }
    };
    match scope.as_str() {
        "local" => Ok(Scope::Local),
        "global" => Ok(Scope::Global),
        "others" => Ok(Scope::Others),
        _ => Err(Failure::bad_request(
            "invalid_scope",
            "scope must be local, global or others",
        )),
    }
}

/// `204`; revocation is seen by every instance within a second.
pub async fn logout(
    req: HttpRequest,
    user: Authenticated<User>,
    auth: actix_web::web::Data<Auth>,
    audit: actix_web::web::Data<Audit>,
) -> HttpResponse {
    let scope = match scope(&req) {
        Ok(scope) => scope,
        Err(failure) => return failure_response(&[failure]),
    };
    let sid = user.session_id.map(|id| id.to_string());
    let user_id = user.id.to_string();
    let revoked = match (scope, sid.as_deref()) {
        (Scope::Local, Some(sid)) => auth.sessions.revoke(sid).await.map(|_| ()),
        // A token without a session (not issued here) has no session of its own to end.
        (Scope::Local, None) => Ok(()),
        (Scope::Global, _) => auth.sessions.revoke_all(&user_id, None).await.map(|_| ()),
        (Scope::Others, keep) => auth.sessions.revoke_all(&user_id, keep).await.map(|_| ()),
    };
    match revoked {
        Ok(()) => {
            tracing::info!(user_id, ?scope, "logged out");
            let entry = Entry::new(Event::Logout, EventOutcome::Success)
                .user(user.id)
                .session(sid.as_deref())
                .detail(scope.as_str());
            audit.record(&req, entry).await;
            let done = HttpResponse::NoContent().finish();
            // By cookie, when its session ended: the browser forgets it (same name and
            // attributes, Max-Age=0). `others` keeps this session, and so the cookie.
            if crate::browser::by_cookie(&user) && scope != Scope::Others {
                crate::browser::clearing_cookie(&auth.browser, done)
            } else {
                done
            }
        }
        Err(error) => unexpected(error.into_strategy_error("revoking sessions")),
    }
}
