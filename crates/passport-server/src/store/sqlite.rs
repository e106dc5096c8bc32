//! What only SQLite does: opening the file, and the order of a refresh-token rotation.

use passport_actix::session::{Rotated, Rotation};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

use super::User;
use super::audit::RotationAudit;
use crate::configuration::DatabaseSettings;

type Sql = super::queries::Sql<Sqlite>;

/// The pool on the file of `options` (`DATABASE_URL`; created with its folder if missing),
/// with the migrations applied.
pub(super) async fn connect(
    options: &SqliteConnectOptions,
    settings: &DatabaseSettings,
) -> anyhow::Result<SqlitePool> {
    let options = options
        .clone()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(settings.timeout)
        .foreign_keys(true);
    if let Some(dir) = options
        .get_filename()
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!("cannot create the database folder {}: {e}", dir.display())
        })?;
    }
    let file = options.get_filename().display().to_string();
    let pool = SqlitePoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.timeout)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the SQLite database {file}: {e}"))?;
    sqlx::migrate!("./migrations-sqlite")
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply the SQLite migrations: {e}"))?;
    Ok(pool)
}

/// One transaction that starts with a write, so SQLite takes its write lock first and
/// concurrent refreshes run one after another (never a read lock upgraded mid-way).
pub(super) async fn rotate(
    conn: &mut SqliteConnection,
    r: &Rotation,
    audit: Option<&RotationAudit>,
) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // The clock is this host's, which is the database's own (an embedded file): no read
    // first, so the transaction still starts with its write.
    let Some(used_at) = Sql::mark_used(&mut *tx, r).await? else {
        return Ok(Rotated::Invalid);
    };
    let Some(session) = Sql::token_session(&mut *tx, r).await? else {
        return Ok(Rotated::Invalid); // dropped: rolled back, nothing changed
    };
    Sql::finish_rotation(tx, r, session, used_at, audit).await
}
