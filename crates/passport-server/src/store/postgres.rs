//! The PostgreSQL queries.

use std::str::FromStr;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

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
    row.map(|r| {
        Ok(User {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
        })
    })
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
            User {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
            },
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
