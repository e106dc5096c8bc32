//! Users linked to an OpenID provider by (issuer, subject).

use passport_actix::StoreError;
use sqlx::Row;
use uuid::Uuid;

use super::{Database, Store, User, classify, error, postgres};

/// The `password_hash` of a user without a password: no hasher recognizes it, and
/// [`Store`]'s login look-up treats its owner as unknown.
pub const NO_PASSWORD: &str = "!";

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
        match &self.db {
            Database::Postgres(pool) => {
                on_postgres!(self, pool, |conn| pg_identity_user(conn, issuer, subject))
            }
            Database::Sqlite(pool) => {
                self.timed(async {
                    let row = sqlx::query(
                        "SELECT u.id, u.email FROM identities i JOIN users u ON u.id = i.user_id
                         WHERE i.issuer = ?1 AND i.subject = ?2",
                    )
                    .bind(issuer)
                    .bind(subject)
                    .fetch_optional(pool)
                    .await?;
                    row.map(|r| {
                        let id: String = r.try_get("id")?;
                        let id =
                            Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                        Ok(User::new(id, r.try_get("email")?))
                    })
                    .transpose()
                })
                .await
            }
        }
    }

    /// Creates a user without a password for `email`, linked to (`issuer`, `subject`), in one
    /// atomic write. An email already taken writes nothing.
    pub async fn create_identity_user(
        &self,
        issuer: &str,
        subject: &str,
        email: &str,
    ) -> Result<NewIdentity, StoreError> {
        let user = User::new(Uuid::new_v4(), email.to_owned());
        let inserted = match &self.db {
            Database::Postgres(pool) => {
                on_postgres!(self, pool, |conn| pg_insert(conn, &user, issuer, subject))
            }
            Database::Sqlite(pool) => {
                self.timed(async {
                    let mut tx = pool.begin().await?;
                    sqlx::query("INSERT INTO users (id, email, password_hash) VALUES (?1, ?2, ?3)")
                        .bind(user.id.to_string())
                        .bind(&user.email)
                        .bind(NO_PASSWORD)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO identities (issuer, subject, user_id) VALUES (?1, ?2, ?3)",
                    )
                    .bind(issuer)
                    .bind(subject)
                    .bind(user.id.to_string())
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await
                })
                .await
            }
        };
        match inserted {
            Ok(()) => Ok(NewIdentity::User(user)),
            Err(StoreError::Other(source)) if error::is_unique_violation(source.as_ref()) => {
                // Either a concurrent first login (or a retried insert) linked this identity,
                // or the email is someone else's.
                match self.identity_user(issuer, subject).await? {
                    Some(user) => Ok(NewIdentity::User(user)),
                    None => Ok(NewIdentity::EmailTaken),
                }
            }
            Err(other) => Err(other),
        }
    }
}

async fn pg_identity_user(
    conn: &mut sqlx::PgConnection,
    issuer: &str,
    subject: &str,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.email FROM identities i JOIN users u ON u.id = i.user_id
         WHERE i.issuer = $1 AND i.subject = $2",
    )
    .bind(issuer)
    .bind(subject)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok(User::new(r.try_get("id")?, r.try_get("email")?)))
        .transpose()
}

/// One statement, so the user and the link are written together or not at all.
async fn pg_insert(
    conn: &mut sqlx::PgConnection,
    user: &User,
    issuer: &str,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH u AS (INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3) RETURNING id)
         INSERT INTO identities (issuer, subject, user_id) SELECT $4, $5, id FROM u",
    )
    .bind(user.id)
    .bind(&user.email)
    .bind(NO_PASSWORD)
    .bind(issuer)
    .bind(subject)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}
