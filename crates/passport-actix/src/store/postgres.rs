//! What only PostgreSQL does: the signup insert's deadline, a refresh-token rotation in one
//! statement (a function the migrations define), a ping with a time limit, and the check a
//! pool runs on a returned connection.

use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::queries::{Lock, user_from_row, with_amr};
use super::{RecordStatement, RotationRecorder, User};
use crate::session::{MAX_UNUSED_REFRESH_TOKENS, Rotated, Rotation, SessionRecord};

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

/// An `after_release` check for a PostgreSQL pool (`PgPoolOptions::after_release`): waits, at
/// most `bound`, for the replies a returned connection still owes — a call cancelled from
/// outside in mid-flight, the `ROLLBACK` a dropped transaction queued — and keeps it once they
/// have come (`Ok(true)`); when they do not come in time, or the connection fails, it is an
/// `Err` (sqlx logs it and closes the connection without a goodbye). A connection that owes
/// nothing, as after every call that got its answer, is kept at once, with no I/O.
///
/// Why not a ping: sqlx 0.8 pings every returned connection itself, right after this check
/// and without a time limit, so a connection that owes nothing gets its liveness round trip
/// anyway; a second one here cost a round trip per use (one of the three of a refresh,
/// BENCHMARKS.md) and proved nothing more. What sqlx's ping cannot do is give up: behind a
/// silent partition, a connection whose reply never comes would hold its pool slot until the
/// TCP timeout. This check is what closes it in time.
///
/// What it cannot see: a `begin()` cancelled while its `BEGIN` was in flight queues no
/// `ROLLBACK` (sqlx 0.8 counts the transaction only once `BEGIN` has answered), so that
/// connection comes back inside a transaction nobody ends. Run calls that may be cancelled
/// so that a cancelled call closes its connection instead of returning it, as every call of
/// [`SqlStore`](super::SqlStore) does. Nor does it re-check a connection held idle for long
/// before its return: it trusts one that owes nothing to be as alive as at its last reply,
/// which is right for pools whose users return a connection when their call ends.
///
/// It relies on sqlx's `Connection::flush` (public, hidden from sqlx's docs: it writes what
/// is buffered and reads until every `ReadyForQuery` the connection expects has come, with
/// no I/O when none is expected), checked on sqlx 0.8.6 by two tests over TCP in the
/// repository's `tests/api/faults.rs`.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use passport_actix::store::postgres::settle_on_release;
/// use passport_actix::store::sqlx::postgres::PgPoolOptions;
///
/// # async fn pool() -> Result<(), passport_actix::store::sqlx::Error> {
/// let pool = PgPoolOptions::new()
///     .max_connections(10)
///     .after_release(|conn, _meta| Box::pin(settle_on_release(conn, Duration::from_millis(500))))
///     .connect("postgres://postgres@127.0.0.1:5432/app")
///     .await?;
/// # Ok(()) }
/// ```
pub async fn settle_on_release(
    conn: &mut PgConnection,
    bound: Duration,
) -> Result<bool, sqlx::Error> {
    match tokio::time::timeout(bound, conn.flush()).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "a returned connection did not deliver the replies it owed in time",
        ))),
    }
}

/// A pooled connection lent to one call of the store: given back to the pool when the call
/// ends ([`release`](Self::release)), closed when it must not be reused
/// ([`close`](Self::close)) — and closed too when the call is dropped before it ends (a
/// request cancelled from outside), since what a cut-off call left behind on the connection
/// cannot always be known (see [`settle_on_release`]).
#[doc(hidden)]
pub struct CallConnection(Option<sqlx::pool::PoolConnection<Postgres>>);

impl CallConnection {
    /// Lends `pooled` to a call.
    pub fn new(pooled: sqlx::pool::PoolConnection<Postgres>) -> Self {
        Self(Some(pooled))
    }

    /// The connection, for the call.
    pub fn conn(&mut self) -> &mut PgConnection {
        match &mut self.0 {
            Some(pooled) => pooled,
            None => unreachable!("a CallConnection is consumed when it is released or closed"),
        }
    }

    /// The call ended: back to the pool (where its `after_release` check runs).
    pub fn release(mut self) {
        drop(self.0.take());
    }

    /// The connection must not be reused: closed, and its place in the pool freed.
    pub fn close(mut self) {
        if let Some(pooled) = self.0.take() {
            drop(pooled.detach());
        }
    }
}

impl Drop for CallConnection {
    fn drop(&mut self) {
        if let Some(pooled) = self.0.take() {
            drop(pooled.detach());
        }
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

/// The rotation as one statement: `passport_rotate_refresh_token` (migration
/// `20261203000100_rotate_refresh_token.sql`) runs the whole of it in the statement's
/// transaction, on the database's clock. It locks the session row first (the same order as a
/// revocation or a deletion, so they cannot deadlock), which also serializes concurrent
/// refreshes of one session; then a reuse revokes the session, or the replacement goes in (at
/// most [`MAX_UNUSED_REFRESH_TOKENS`] unused per session) and the presented token is marked
/// used, keeping an earlier use time.
pub(super) async fn rotate(
    conn: &mut PgConnection,
    r: &Rotation,
) -> Result<Rotated<User>, sqlx::Error> {
    let row = sqlx::query(ROTATE)
        .bind(r.presented.as_str())
        .bind(r.replacement.as_str())
        .bind(r.grace_ms)
        .bind(MAX_UNUSED_REFRESH_TOKENS)
        .fetch_one(&mut *conn)
        .await?;
    rotated(&row)
}

/// [`rotate`], with `recorder`'s statement as a data-modifying `WITH` clause of the same
/// statement: one round trip, one transaction, the row and the rotation together or neither.
/// The function's result is materialized once (a volatile call is never run twice) and read
/// by the recorder through `rotation`, which shows it only the outcome and the ids.
pub(super) async fn rotate_recorded<R: RotationRecorder + ?Sized>(
    conn: &mut PgConnection,
    r: &Rotation,
    recorder: &R,
) -> Result<Rotated<User>, sqlx::Error> {
    let mut builder = QueryBuilder::new(
        "WITH rotated AS MATERIALIZED (SELECT * FROM passport_rotate_refresh_token(",
    );
    builder.push_bind(r.presented.as_str().to_owned());
    builder.push(", ");
    builder.push_bind(r.replacement.as_str().to_owned());
    builder.push(", ");
    builder.push_bind(r.grace_ms);
    builder.push(", ");
    builder.push_bind(MAX_UNUSED_REFRESH_TOKENS);
    builder
        .push(")), rotation AS (SELECT outcome, session_id, user_id FROM rotated), recorded AS (");
    recorder.record(&mut RecordStatement::postgres(&mut builder));
    builder
        .push(") SELECT outcome, session_id, user_id AS id, email, expires_at, amr FROM rotated");
    let row = builder.build().fetch_one(&mut *conn).await?;
    rotated(&row)
}

/// A rotation's reuse check alone, for a recorded rotation that failed (its row could not be
/// written): in one transaction on the database's clock, the session row locked first as the
/// rotation locks it, the session is revoked if the presented token was used longer ago than
/// the grace (`ReuseDetected`); an unknown or ended token is `Unknown`; anything else (a
/// rotation, the cap) changes nothing and is `None`.
pub(super) async fn revoke_if_reused(
    conn: &mut PgConnection,
    r: &Rotation,
) -> Result<Option<Rotated<User>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let r = &Rotation {
        now_ms: Sql::db_now_ms(&mut *tx).await?,
        ..r.clone()
    };
    let checked = Sql::revoke_if_reused(&mut *tx, r, Lock::Session).await?;
    tx.commit().await?;
    Ok(checked)
}

/// The rotation's statement; its row has the columns [`rotated`] reads.
const ROTATE: &str = "SELECT outcome, session_id, user_id AS id, email, expires_at, amr
     FROM passport_rotate_refresh_token($1, $2, $3, $4)";

/// What the function's row says: `outcome` (`rotated`, `reuse`, `unknown`, `cap`), and the
/// session with its user.
pub(super) fn rotated(row: &PgRow) -> Result<Rotated<User>, sqlx::Error> {
    let outcome: &str = row.try_get("outcome")?;
    Ok(match outcome {
        "rotated" => {
            let user = with_amr(user_from_row(row)?, row)?;
            Rotated::Rotated {
                session: SessionRecord {
                    session_id: row.try_get::<Uuid, _>("session_id")?.to_string(),
                    user_id: user.id.to_string(),
                    expires_at_ms: row.try_get("expires_at")?,
                    amr: user.amr.clone(),
                },
                user,
            }
        }
        "reuse" => Rotated::ReuseDetected {
            session_id: row.try_get::<Uuid, _>("session_id")?.to_string(),
        },
        "cap" => Rotated::CapReached,
        "unknown" => Rotated::Unknown,
        other => {
            return Err(sqlx::Error::Protocol(format!(
                "passport_rotate_refresh_token answered an unknown outcome {other:?}"
            )));
        }
    })
}
