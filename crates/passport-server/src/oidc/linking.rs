//! Account linking: the user of a verified OpenID identity, found by its issuer and subject,
//! or created for a verified email nobody has (an existing account is never linked
//! automatically).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use passport_actix::ErrorBody;
use passport_actix::oidc::OidcClaims;

use crate::errors::unexpected;
use crate::store::{NewIdentity, Store, User};

/// The user of the identity in `claims`, or the answer refusing it (`403
/// email_not_verified`, `409 account_exists`, a `500`).
pub async fn user_of(claims: &OidcClaims, store: &Store) -> Result<User, HttpResponse> {
    let user = match store.identity_user(&claims.issuer, &claims.subject).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            // A new identity: a new account, only for a verified email nobody has.
            let email = match (&claims.email, claims.email_verified) {
                (Some(email), Some(true)) => {
                    passport_actix::local::normalize_email(email).unwrap_or_default()
                }
                _ => String::new(),
            };
            if email.is_empty() {
                return Err(ErrorBody::new(
                    "email_not_verified",
                    "The provider did not give a verified email address for this account",
                )
                .response(StatusCode::FORBIDDEN));
            }
            match store
                .create_identity_user(&claims.issuer, &claims.subject, &email)
                .await
            {
                Ok(NewIdentity::User(user)) => {
                    tracing::info!(user_id = %user.id, "user created by an OpenID login");
                    user
                }
                Ok(NewIdentity::EmailTaken) => {
                    return Err(ErrorBody::new(
                        "account_exists",
                        "An account with this email already exists; it is not linked automatically",
                    )
                    .response(StatusCode::CONFLICT));
                }
                Err(error) => {
                    return Err(unexpected(
                        error.into_strategy_error("creating an OIDC user"),
                    ));
                }
            }
        }
        Err(error) => {
            return Err(unexpected(
                error.into_strategy_error("finding an OIDC identity"),
            ));
        }
    };
    Ok(user)
}
