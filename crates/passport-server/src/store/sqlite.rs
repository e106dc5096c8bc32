//! The embedded SQLite queries (ids are stored as UUID strings).

use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use passport_actix::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewSession, Rotated, Rotation, SessionRecord, TokenUse,
};

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
    Ok(User::new(id, row.try_get("email")?))
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

pub(super) async fn create_session(pool: &SqlitePool, s: &NewSession) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(&s.session_id)
    .bind(&s.user_id)
    .bind(s.created_at_ms)
    .bind(s.expires_at_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?1, ?2, ?3)",
    )
    .bind(s.refresh_token.as_str())
    .bind(&s.session_id)
    .bind(s.created_at_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One transaction that starts with a write, so SQLite takes its write lock first and
/// concurrent refreshes run one after another (never a read lock upgraded mid-way).
pub(super) async fn rotate(pool: &SqlitePool, r: &Rotation) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(used_at) = sqlx::query_scalar::<_, i64>(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, ?2) WHERE token_hash = ?1
         RETURNING used_at",
    )
    .bind(r.presented.as_str())
    .bind(r.now_ms)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Rotated::Invalid);
    };
    let session = sqlx::query(
        "SELECT s.id AS session_id, s.expires_at, u.id, u.email
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
         WHERE t.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2",
    )
    .bind(r.presented.as_str())
    .bind(r.now_ms)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(session) = session else {
        return Ok(Rotated::Invalid); // dropped: rolled back, nothing changed
    };
    let session_id: String = session.try_get("session_id")?;
    if r.classify(Some(used_at)) == TokenUse::Reuse {
        sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1")
            .bind(&session_id)
            .bind(r.now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(Rotated::ReuseDetected { session_id });
    }
    let inserted = sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
         SELECT ?1, ?2, ?3
         WHERE (SELECT count(*) FROM refresh_tokens WHERE session_id = ?2 AND used_at IS NULL) < ?4",
    )
    .bind(r.replacement.as_str())
    .bind(&session_id)
    .bind(r.now_ms)
    .bind(MAX_UNUSED_REFRESH_TOKENS)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Rotated::Invalid); // too many retries inside the grace: rolled back
    }
    tx.commit().await?;
    let user = user(&session)?;
    Ok(Rotated::Rotated {
        session: SessionRecord {
            session_id,
            user_id: user.id.to_string(),
            expires_at_ms: session.try_get("expires_at")?,
        },
        user,
    })
}

/// Replaces the password hash and revokes every other session, in one transaction.
pub(super) async fn change_password(
    pool: &SqlitePool,
    user_id: Uuid,
    hash: &str,
    keep: Option<Uuid>,
    now: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = ?1 WHERE id = ?2")
        .bind(hash)
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
    let revoked = revoke_user_sessions(&mut *tx, user_id, keep, now).await?;
    tx.commit().await?;
    Ok(revoked)
}

pub(super) async fn revoke_session(
    pool: &SqlitePool,
    id: Uuid,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
            .bind(id.to_string())
            .bind(now)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_user_sessions(
    executor: impl sqlx::SqliteExecutor<'_>,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = ?3
         WHERE user_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR id <> ?2)
         RETURNING id",
    )
    .bind(user_id.to_string())
    .bind(keep.map(|k| k.to_string()))
    .bind(now)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        })
        .collect()
}

/// The user of a live session, and when the session ends.
pub(super) async fn live_session(
    pool: &SqlitePool,
    id: Uuid,
    now: i64,
) -> Result<Option<(User, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.email, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2",
    )
    .bind(id.to_string())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|r| Ok((user(&r)?, r.try_get("expires_at")?)))
        .transpose()
}

/// Deletes a user; their sessions and refresh tokens go with them (foreign-key cascade).
pub(super) async fn delete_user(pool: &SqlitePool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = ?1")
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes ended sessions; their refresh tokens, used or not, go with them (cascade).
pub(super) async fn purge_sessions(pool: &SqlitePool, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1 OR revoked_at IS NOT NULL")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
