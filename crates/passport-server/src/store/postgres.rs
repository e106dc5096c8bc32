//! The PostgreSQL queries.

use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

use passport_actix::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewSession, Rotated, Rotation, SessionRecord, TokenUse,
};

use super::User;
use crate::configuration::Settings;

pub(super) async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    let timeout_ms = settings.database_timeout.as_millis().to_string();
    let options = PgConnectOptions::from_str(settings.database_url.expose_secret())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?
        .options([("statement_timeout", timeout_ms.as_str())])
        .application_name("passport-server");
    // One direct connection first: its error says why (refused, auth, no such database),
    // where a pool would only say it timed out.
    let target = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    match tokio::time::timeout(
        settings.database_timeout,
        PgConnection::connect_with(&options),
    )
    .await
    {
        Err(_) => anyhow::bail!(
            "cannot connect to PostgreSQL at {target} (DATABASE_URL): no answer within {:?}",
            settings.database_timeout
        ),
        Ok(Err(e)) => anyhow::bail!("cannot connect to PostgreSQL at {target} (DATABASE_URL): {e}"),
        Ok(Ok(conn)) => conn.close().await?,
    }
    let pool = PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .min_connections(1)
        .acquire_timeout(settings.database_timeout)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at DATABASE_URL: {e}"))?;
    sqlx::migrate!("../../migrations")
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply the PostgreSQL migrations: {e}"))?;
    Ok(pool)
}

pub(super) async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

pub(super) async fn user_by_id(pool: &PgPool, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| Ok(User::new(r.try_get("id")?, r.try_get("email")?)))
        .transpose()
}

pub(super) async fn credentials_by_email(
    pool: &PgPool,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT id, email, password_hash FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(pool)
            .await?;
    row.map(|r| {
        Ok((
            User::new(r.try_get("id")?, r.try_get("email")?),
            r.try_get("password_hash")?,
        ))
    })
    .transpose()
}

pub(super) async fn insert_user(pool: &PgPool, user: &User, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)")
        .bind(user.id)
        .bind(&user.email)
        .bind(hash)
        .execute(pool)
        .await
        .map(|_| ())
}

pub(super) async fn update_hash(pool: &PgPool, id: Uuid, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Counts one attempt atomically; a window that has run out starts again at 1.
pub(super) async fn register_attempt(
    pool: &PgPool,
    key: &str,
    now: i64,
    window: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO login_attempts (account_key, attempts, window_started_at) VALUES ($1, 1, $2)
         ON CONFLICT (account_key) DO UPDATE SET
           attempts = CASE WHEN login_attempts.window_started_at <= $2 - $3 THEN 1
                           ELSE login_attempts.attempts + 1 END,
           window_started_at = CASE WHEN login_attempts.window_started_at <= $2 - $3 THEN $2
                                    ELSE login_attempts.window_started_at END
         RETURNING attempts::BIGINT AS attempts, window_started_at",
    )
    .bind(key)
    .bind(now)
    .bind(window)
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("attempts")?, row.try_get("window_started_at")?))
}

pub(super) async fn clear_attempts(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_attempts WHERE account_key = $1")
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ())
}

pub(super) async fn purge_attempts(pool: &PgPool, cutoff: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM login_attempts WHERE window_started_at <= $1")
        .bind(cutoff)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn create_session(pool: &PgPool, s: &NewSession) -> Result<(), sqlx::Error> {
    let (Ok(id), Ok(user_id)) = (Uuid::parse_str(&s.session_id), Uuid::parse_str(&s.user_id))
    else {
        return Err(sqlx::Error::Protocol(
            "session and user ids must be UUIDs".into(),
        ));
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(user_id)
    .bind(s.created_at_ms)
    .bind(s.expires_at_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(s.refresh_token.as_str())
    .bind(id)
    .bind(s.created_at_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One transaction. It locks the session row first (the same order as a revocation or a
/// deletion, so they cannot deadlock), which also serializes concurrent refreshes of one
/// session; then marks the token used, keeping an earlier use time.
pub(super) async fn rotate(pool: &PgPool, r: &Rotation) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some(session) = sqlx::query(
        "SELECT s.id, s.expires_at, u.id AS user_id, u.email
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
         WHERE t.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
         FOR UPDATE OF s",
    )
    .bind(r.presented.as_str())
    .bind(r.now_ms)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Rotated::Invalid); // unknown token, or its session ended: nothing changed
    };
    let session_id: Uuid = session.try_get("id")?;
    let used_at: i64 = sqlx::query_scalar(
        "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $2) WHERE token_hash = $1
         RETURNING used_at",
    )
    .bind(r.presented.as_str())
    .bind(r.now_ms)
    .fetch_one(&mut *tx)
    .await?;
    if r.classify(Some(used_at)) == TokenUse::Reuse {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1")
            .bind(session_id)
            .bind(r.now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(Rotated::ReuseDetected {
            session_id: session_id.to_string(),
        });
    }
    let inserted = sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
         SELECT $1, $2, $3
         WHERE (SELECT count(*) FROM refresh_tokens WHERE session_id = $2 AND used_at IS NULL) < $4",
    )
    .bind(r.replacement.as_str())
    .bind(session_id)
    .bind(r.now_ms)
    .bind(MAX_UNUSED_REFRESH_TOKENS)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Rotated::Invalid); // too many retries inside the grace: rolled back
    }
    tx.commit().await?;
    let user = User::new(session.try_get("user_id")?, session.try_get("email")?);
    Ok(Rotated::Rotated {
        session: SessionRecord {
            session_id: session_id.to_string(),
            user_id: user.id.to_string(),
            expires_at_ms: session.try_get("expires_at")?,
        },
        user,
    })
}

/// Replaces the password hash and revokes every other session, in one transaction: a
/// password change either fully happened or not at all.
pub(super) async fn change_password(
    pool: &PgPool,
    user_id: Uuid,
    hash: &str,
    keep: Option<Uuid>,
    now: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
         RETURNING id",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

pub(super) async fn revoke_session(pool: &PgPool, id: Uuid, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_user_sessions(
    pool: &PgPool,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE sessions SET revoked_at = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
         RETURNING id",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// The user of a live session, and when the session ends.
pub(super) async fn live_session(
    pool: &PgPool,
    id: Uuid,
    now: i64,
) -> Result<Option<(User, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.email, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok((
            User::new(r.try_get("id")?, r.try_get("email")?),
            r.try_get("expires_at")?,
        ))
    })
    .transpose()
}

/// Deletes a user; their sessions and refresh tokens go with them (foreign-key cascade).
pub(super) async fn delete_user(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes ended sessions; their refresh tokens, used or not, go with them (cascade). Used
/// tokens are kept until then: presenting one late is how theft is detected.
pub(super) async fn purge_sessions(pool: &PgPool, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
