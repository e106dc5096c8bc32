//! `POST /user/password` and `DELETE /user`, behind the "jwt" strategy: both re-authenticate
//! with the current password, which counts toward the account's login throttle.

use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::local::NewPasswordError;
use passport_actix::{AuthRequest, Authenticated, failure_response};

use super::reauth::{reauthenticate, refused, required};
use crate::audit::{self, Audit, Entry, Event};
use crate::auth::Auth;
use crate::errors::unexpected;
use crate::store::{Store, User};

/// `204`: the password is changed and every other session of the user is revoked.
pub async fn change_password(
    req: HttpRequest,
    body: web::Payload,
    user: Authenticated<User>,
    auth: web::Data<Auth>,
    store: web::Data<Store>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    if let Err(response) = super::mfa::step_up(&auth, &audit, &req, &user).await {
        return response;
    }
    let request = AuthRequest::from_handler(&req, body);
    let [current, new] = match required(&request, ["current_password", "new_password"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if let Err(response) = reauthenticate(&auth, &user, &current).await {
        refused(&audit, &req, Event::PasswordChange, &user, &response).await;
        return response;
    }
    let hash = match auth.passwords.hash_new_password(&user.email, &new).await {
        Ok(hash) => hash,
        Err(NewPasswordError::Policy(failure) | NewPasswordError::Busy(failure)) => {
            return failure_response(&[failure]);
        }
        Err(NewPasswordError::Hash(error)) => return unexpected(error),
    };
    match store.change_password(&user, &hash, user.session_id).await {
        Ok(revoked) => {
            tracing::info!(user_id = %user.id, revoked = revoked.len(), "password changed");
            succeeded(&audit, &req, Event::PasswordChange, &user).await
        }
        Err(error) => unexpected(error.into_strategy_error("changing the password")),
    }
}

/// `204`: the account and all its sessions are gone.
pub async fn delete_account(
    req: HttpRequest,
    body: web::Payload,
    user: Authenticated<User>,
    auth: web::Data<Auth>,
    store: web::Data<Store>,
    audit: web::Data<Audit>,
) -> HttpResponse {
    if let Err(response) = super::mfa::step_up(&auth, &audit, &req, &user).await {
        return response;
    }
    let request = AuthRequest::from_handler(&req, body);
    let [password] = match required(&request, ["password"]).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    if let Err(response) = reauthenticate(&auth, &user, &password).await {
        refused(&audit, &req, Event::AccountDeletion, &user, &response).await;
        return response;
    }
    match store.delete_user(user.id).await {
        Ok(_) => {
            tracing::info!(user_id = %user.id, "account deleted");
            succeeded(&audit, &req, Event::AccountDeletion, &user).await
        }
        Err(error) => unexpected(error.into_strategy_error("deleting the account")),
    }
}

/// Audits a successful sensitive change and answers `204`.
async fn succeeded(audit: &Audit, req: &HttpRequest, event: Event, user: &User) -> HttpResponse {
    let entry = Entry::new(event, audit::EventOutcome::Success)
        .user(user.id)
        .session(user.session_id.map(|id| id.to_string()).as_deref());
    audit.record(req, entry).await;
    HttpResponse::NoContent().finish()
}
