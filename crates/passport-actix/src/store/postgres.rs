//! What only PostgreSQL does: the signup insert's deadline, the row lock of a refresh-token
//! rotation, and a ping with a time limit.

use std::time::Duration;

use sqlx::{Connection, PgConnection, Postgres};

use super::User;
use super::queries::Lock;
use crate::session::{Rotated, Rotation};

type Sql = super::queries::Sql<Postgres>;

/// A ping that gives up after `bound`: `Err` for a dead or silent connection.
pub async fn bounded_ping(conn: &mut PgConnection, bound: Duration) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(bound, conn.ping()).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the connection did not answer a ping in time",
        ))),
    }
}

/// Inserts the user only if the database runs the statement before `deadline` (seconds since
/// the epoch, by the database's clock); returns whether it did.
///
/// A request that gave up with 503 may have left its statement in a partitioned network;
/// delivered later, it must not create an account the client was told was not created.
pub(super) async fn insert_user(
    conn: &mut PgConnection,
    user: &User,
    hash: &str,
    deadline: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO users (id, email, password_hash)
         SELECT $1, $2, $3 WHERE extract(epoch FROM clock_timestamp()) < $4",
    )
    .bind(user.id)
    .bind(&user.email)
    .bind(hash)
    .bind(deadline)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One transaction. It locks the session row first (the same order as a revocation or a
/// deletion, so they cannot deadlock), which also serializes concurrent refreshes of one
/// session; then marks the token used, keeping an earlier use time.
pub(super) async fn rotate(
    conn: &mut PgConnection,
    r: &Rotation,
) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // The grace is measured on the database's clock, not on each instance's.
    let r = &Rotation {
        now_ms: Sql::db_now_ms(&mut *tx).await?,
        ..r.clone()
    };
    let Some(session) = Sql::token_session(&mut *tx, r, Lock::Session).await? else {
        return Ok(Rotated::Unknown); // unknown token, or its session ended: nothing changed
    };
    let Some(used_at) = Sql::mark_used(&mut *tx, r).await? else {
        return Ok(Rotated::Unknown);
    };
    Sql::finish_rotation(tx, r, session, used_at).await
}
