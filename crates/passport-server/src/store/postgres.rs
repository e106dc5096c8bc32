//! The PostgreSQL queries.

use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

use passport_actix::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewSession, Rotated, Rotation, SessionRecord, TokenUse,
};

use super::User;
use crate::configuration::Settings;

/// Connections idle for longer than this are pinged (with [`ping_timeout`]) before use: a
/// connection a silent partition killed is found and replaced instead of failing a request.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Idle connections above `min_connections` are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// No connection lives longer than this (spreads reconnects after failovers, bounds state).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The bound on one pool-side check (a ping before use or on return): a quarter of the
/// database timeout, at most one second.
pub(super) fn ping_timeout(settings: &Settings) -> Duration {
    (settings.database_timeout / 4).min(Duration::from_secs(1))
}

/// A ping that gives up after `bound`: `Err` for a dead or silent connection.
pub(super) async fn bounded_ping(
    conn: &mut PgConnection,
    bound: Duration,
) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(bound, conn.ping()).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the connection did not answer a ping in time",
        ))),
    }
}

pub(super) async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    let timeout_ms = settings.database_timeout.as_millis().to_string();
    // statement_timeout: the server abandons a statement the client has given up on.
    // tcp_keepalives_*: the server drops the backends of clients a partition took away.
    let options = PgConnectOptions::from_str(settings.database_url.expose_secret())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?
        .options([
            ("statement_timeout", timeout_ms.as_str()),
            ("tcp_keepalives_idle", "30"),
            ("tcp_keepalives_interval", "10"),
            ("tcp_keepalives_count", "3"),
        ])
        .application_name("passport-server");
    let ping_bound = ping_timeout(settings);
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
        .idle_timeout(IDLE_TIMEOUT)
        .max_lifetime(MAX_LIFETIME)
        // sqlx's own checks have no time limit (a ping on a black-holed connection waits for
        // ever, holding its slot); these are bounded and replace them.
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for > CHECK_AFTER_IDLE {
                    bounded_ping(conn, ping_bound).await?;
                }
                Ok(true)
            })
        })
        .after_release(move |conn, _meta| Box::pin(bounded_ping_kept(conn, ping_bound)))
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at DATABASE_URL: {e}"))?;
    sqlx::migrate!("../../migrations")
        .run(&pool)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply the PostgreSQL migrations: {e}"))?;
    Ok(pool)
}

/// `after_release`: a connection that does not answer a bounded ping is closed rather than
/// returned (sqlx then pings once more without a bound, which a live connection answers at once).
async fn bounded_ping_kept(conn: &mut PgConnection, bound: Duration) -> Result<bool, sqlx::Error> {
    bounded_ping(conn, bound).await.map(|()| true)
}

pub(super) async fn ping(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1")
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub(super) async fn user_by_id(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok(User::new(r.try_get("id")?, r.try_get("email")?)))
        .transpose()
}

pub(super) async fn credentials_by_email(
    conn: &mut PgConnection,
    email: &str,
) -> Result<Option<(User, String)>, sqlx::Error> {
    let row =
        sqlx::query("SELECT id, email, password_hash FROM users WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| {
        Ok((
            User::new(r.try_get("id")?, r.try_get("email")?),
            r.try_get("password_hash")?,
        ))
    })
    .transpose()
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

/// Whether a user with this id exists (after a retried insert hit the unique index: was it
/// our own first attempt that got through?).
pub(super) async fn user_exists(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

pub(super) async fn update_hash(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// Counts one attempt atomically; a window that has run out starts again at 1.
pub(super) async fn register_attempt(
    conn: &mut PgConnection,
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
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("attempts")?, row.try_get("window_started_at")?))
}

pub(super) async fn clear_attempts(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_attempts WHERE account_key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

pub(super) async fn purge_attempts(
    conn: &mut PgConnection,
    cutoff: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM login_attempts WHERE window_started_at <= $1")
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn create_session(
    conn: &mut PgConnection,
    s: &NewSession,
) -> Result<(), sqlx::Error> {
    let (Ok(id), Ok(user_id)) = (Uuid::parse_str(&s.session_id), Uuid::parse_str(&s.user_id))
    else {
        return Err(sqlx::Error::Protocol(
            "session and user ids must be UUIDs".into(),
        ));
    };
    let mut tx = conn.begin().await?;
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
pub(super) async fn rotate(
    conn: &mut PgConnection,
    r: &Rotation,
) -> Result<Rotated<User>, sqlx::Error> {
    let mut tx = conn.begin().await?;
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
         WHERE (SELECT count(*) FROM refresh_tokens WHERE session_id = $2 AND used_at IS NULL) < $4
         ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(r.replacement.as_str())
    .bind(session_id)
    .bind(r.now_ms)
    .bind(MAX_UNUSED_REFRESH_TOKENS)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // Either the replacement is already there (this is a retry of a rotation whose
        // commit was not acknowledged) or the session holds too many unused tokens.
        let ours: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM refresh_tokens WHERE token_hash = $1")
                .bind(r.replacement.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if ours.is_none() {
            return Ok(Rotated::Invalid); // too many retries inside the grace: rolled back
        }
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
    conn: &mut PgConnection,
    user_id: Uuid,
    hash: &str,
    keep: Option<Uuid>,
    now: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let revoked = revoke_user_sessions(&mut tx, user_id, keep, now).await?;
    tx.commit().await?;
    Ok(revoked)
}

pub(super) async fn revoke_session(
    conn: &mut PgConnection,
    id: Uuid,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_user_sessions(
    conn: &mut PgConnection,
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
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// The user of a live session, and when the session ends.
pub(super) async fn live_session(
    conn: &mut PgConnection,
    id: Uuid,
    now: i64,
) -> Result<Option<(User, i64)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.email, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut *conn)
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
pub(super) async fn delete_user(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes ended sessions; their refresh tokens, used or not, go with them (cascade). Used
/// tokens are kept until then: presenting one late is how theft is detected.
pub(super) async fn purge_sessions(conn: &mut PgConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}
