//! Users linked to an OpenID provider by (issuer, subject).

use passport_actix::StoreError;
use uuid::Uuid;

use super::{Store, User};
use passport_actix::store::{Unique, unique_violation};

use passport_actix::store::NO_PASSWORD;

/// What creating a user for a new identity gave.
#[derive(Debug)]
pub enum NewIdentity {
    /// The user was created (or, in a race, created by a concurrent first login).
    User(User),
    /// The email belongs to another account: nothing was written.
    EmailTaken,
}

impl Store {
    /// The user linked to (`issuer`, `subject`), if any.
    pub async fn identity_user(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, StoreError> {
        run!(self, identity_user(issuer, subject))
    }

    /// Creates a user without a password for `email`, linked to (`issuer`, `subject`), in one
    /// transaction. An email already taken writes nothing.
    pub async fn create_identity_user(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
    ) -> Result<NewIdentity, StoreError> {
        let user = User::new(Uuid::new_v4(), email.to_owned());
        match run!(
            self,
            insert_identity_user(&user, NO_PASSWORD, issuer, subject)
        ) {
            Ok(()) => Ok(NewIdentity::User(user)),
            // Either a concurrent first login (or a retried insert) linked this identity, or
            // the email is someone else's.
            Err(error)
                if matches!(
                    unique_violation(&error),
                    Some(Unique::Email | Unique::Identity | Unique::UserId)
                ) =>
            {
                match self.identity_user(issuer, subject).await? {
                    Some(user) => Ok(NewIdentity::User(user)),
                    None if unique_violation(&error) == Some(Unique::Email) => {
                        Ok(NewIdentity::EmailTaken)
                    }
                    None => Err(error),
                }
            }
            Err(other) => Err(other),
        }
    }
}
