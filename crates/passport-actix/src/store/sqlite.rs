//! What only SQLite does: opening the file, and the order of a refresh-token rotation.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

use super::User;
use super::queries::Lock;
use crate::session::{Rotated, Rotation};

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

/// One transaction that starts with a write, so SQLite takes its write lock first and
/// concurrent refreshes run one after another (never a read lock upgraded mid-way).
pub(super) async fn rotate(
    conn: &mut SqliteConnection,
    r: &Rotation,
) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // The clock is this host's, which is the database's own (an embedded file): no read
    // first, so the transaction still starts with its write.
    let Some(used_at) = Sql::mark_used(&mut *tx, r).await? else {
        return Ok(Rotated::Unknown);
    };
    let Some(session) = Sql::token_session(&mut *tx, r, Lock::None).await? else {
        return Ok(Rotated::Unknown); // dropped: rolled back, nothing changed
    };
    Sql::finish_rotation(tx, r, session, used_at).await
}
