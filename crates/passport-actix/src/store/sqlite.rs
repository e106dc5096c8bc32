//! What only SQLite does: opening the file, and a refresh-token rotation as one write
//! transaction.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::id::Id;
use super::queries::Lock;
use super::{RecordStatement, RotationRecorder, User};
use crate::session::{Rotated, Rotation, SessionRecord, TokenUse};

type Sql = super::queries::Sql<Sqlite>;

/// A pool on the SQLite file of `options` (created if missing), in WAL mode with foreign keys
/// on and writers waiting up to `busy` for each other: what the shipped store expects.
pub async fn open(
    options: SqliteConnectOptions,
    max_connections: u32,
    busy: Duration,
) -> Result<SqlitePool, sqlx::Error> {
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(busy)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(busy)
        .test_before_acquire(false)
        .connect_with(options)
        .await
}

/// One write transaction (`BEGIN IMMEDIATE`: SQLite's write lock is taken first, so concurrent
/// refreshes run one after another and no read lock is ever upgraded mid-way), in the order of
/// PostgreSQL's `passport_rotate_refresh_token`: nothing is written before the outcome is
/// known, so an unknown token or a reached cap changes nothing. With `recorder`, its statement
/// runs before the commit, on the outcome.
pub(super) async fn rotate<R: RotationRecorder + ?Sized>(
    conn: &mut SqliteConnection,
    r: &Rotation,
    recorder: Option<&R>,
) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    // The clock is this host's, which is the database's own (an embedded file).
    let (rotated, ids) = steps(&mut tx, r).await?;
    if let Some(recorder) = recorder {
        let outcome = match &rotated {
            Rotated::Rotated { .. } => "rotated",
            Rotated::ReuseDetected { .. } => "reuse",
            Rotated::Unknown => "unknown",
            Rotated::CapReached => "cap",
        };
        let mut builder =
            QueryBuilder::new("WITH rotation(outcome, session_id, user_id) AS (VALUES (");
        builder.push_bind(outcome);
        builder.push(", ");
        builder.push_bind(ids.map(|(session, _)| Id(session)));
        builder.push(", ");
        builder.push_bind(ids.map(|(_, user)| Id(user)));
        builder.push(")) ");
        recorder.record(&mut RecordStatement::sqlite(&mut builder));
        builder.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(rotated)
}

/// A rotation's reuse check alone, for a recorded rotation that failed (its row could not be
/// written): in one write transaction, the session is revoked if the presented token was used
/// longer ago than the grace (`ReuseDetected`); an unknown or ended token is `Unknown`;
/// anything else (a rotation, the cap) changes nothing and is `None`.
pub(super) async fn revoke_if_reused(
    conn: &mut SqliteConnection,
    r: &Rotation,
) -> Result<Option<Rotated<User>>, sqlx::Error> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let checked = Sql::revoke_if_reused(&mut *tx, r, Lock::None).await?;
    tx.commit().await?;
    Ok(checked)
}

/// The rotation's steps inside its transaction; with the session and user ids of a rotated or
/// revoked session.
async fn steps(
    conn: &mut SqliteConnection,
    r: &Rotation,
) -> Result<(Rotated<User>, Option<(Uuid, Uuid)>), sqlx::Error> {
    let Some(session) = Sql::token_session(&mut *conn, r, Lock::None).await? else {
        return Ok((Rotated::Unknown, None)); // unknown token, or its session ended
    };
    let Some(used_at) = Sql::token_used_at(&mut *conn, r).await? else {
        return Ok((Rotated::Unknown, None));
    };
    let ids = Some((session.id, session.user.id));
    if r.classify(used_at) == TokenUse::Reuse {
        Sql::revoke_session(&mut *conn, session.id, r.now_ms).await?;
        let session_id = session.id.to_string();
        return Ok((Rotated::ReuseDetected { session_id }, ids));
    }
    if !Sql::insert_replacement(&mut *conn, r, session.id).await? {
        return Ok((Rotated::CapReached, None)); // nothing written
    }
    Sql::mark_used(&mut *conn, r).await?;
    let rotated = Rotated::Rotated {
        session: SessionRecord {
            session_id: session.id.to_string(),
            user_id: session.user.id.to_string(),
            expires_at_ms: session.expires_at,
            amr: session.user.amr.clone(),
        },
        user: session.user,
    };
    Ok((rotated, ids))
}
