//! The embedded SQLite queries (ids are stored as UUID strings).

use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use super::User;
use crate::configuration::Settings;

pub(super) async fn connect(settings: &Settings) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(settings.database_url.expose_secret())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid SQLite URL: {e}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(settings.database_timeout)
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
        .max_connections(settings.database_max_connections)
        .acquire_timeout(settings.database_timeout)
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

pub(super) async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

fn user(row: &SqliteRow) -> Result<User, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let id = Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(User {
        id,
        email: row.try_get("email")?,
    })
}

pub(super) async fn user_by_id(pool: &SqlitePool, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email FROM users WHERE id = ?1")
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(user).transpose()
}

pub(super) async fn credentials_by_email(
    pool: &SqlitePool,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT id, email, password_hash FROM users WHERE lower(email) = lower(?1)")
            .bind(email)
            .fetch_optional(pool)
            .await?;
    row.map(|r| Ok((user(&r)?, r.try_get("password_hash")?)))
        .transpose()
}

pub(super) async fn insert_user(
    pool: &SqlitePool,
    user: &User,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO users (id, email, password_hash) VALUES (?1, ?2, ?3)")
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(hash)
        .execute(pool)
        .await
        .map(|_| ())
}

pub(super) async fn update_hash(
    pool: &SqlitePool,
    id: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = ?1 WHERE id = ?2")
        .bind(hash)
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|_| ())
}

/// Counts one attempt atomically; a window that has run out starts again at 1.
pub(super) async fn register_attempt(
    pool: &SqlitePool,
    key: &str,
    now: i64,
    window: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO login_attempts (account_key, attempts, window_started_at) VALUES (?1, 1, ?2)
         ON CONFLICT (account_key) DO UPDATE SET
           attempts = CASE WHEN login_attempts.window_started_at <= ?2 - ?3 THEN 1
                           ELSE login_attempts.attempts + 1 END,
           window_started_at = CASE WHEN login_attempts.window_started_at <= ?2 - ?3 THEN ?2
                                    ELSE login_attempts.window_started_at END
         RETURNING attempts, window_started_at",
    )
    .bind(key)
    .bind(now)
    .bind(window)
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("attempts")?, row.try_get("window_started_at")?))
}

pub(super) async fn clear_attempts(pool: &SqlitePool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_attempts WHERE account_key = ?1")
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ())
}

pub(super) async fn purge_attempts(pool: &SqlitePool, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM login_attempts WHERE window_started_at <= ?1")
        .bind(cutoff)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
