//! What only PostgreSQL does: its connection pool (bounded pings, server-side timeouts), the
//! signup insert's deadline, and the row lock of a refresh-token rotation.
//!
//! ## Behind a transaction pooler (`DATABASE_POOL_MODE=transaction`)
//!
//! PgBouncer in transaction mode (and Supavisor, RDS Proxy, …) gives a client a backend for
//! one transaction at a time; outside a transaction, every `Sync` of the extended protocol may
//! end on another backend. Three habits of a session-pooled client break there:
//!
//! - sqlx's prepared statements. Its cache names them `sqlx_s_1`, `sqlx_s_2`, … per client
//!   connection, so two clients meet the same name on one backend (`prepared statement
//!   "sqlx_s_1" already exists`). `statement_cache_capacity(0)` does not help on its own: sqlx
//!   0.8 still parses every query as a *named* statement (`PgConnection::get_or_prepare` asks
//!   `prepare` for a fresh `sqlx_s_N` whenever the query is persistent, the default) and only
//!   stops caching — and closing — them. And an unnamed statement is parsed and executed under
//!   two `Sync`s, which a pooler may route to two backends.
//! - settings sent at connection start (`options=-c statement_timeout=…`), which PgBouncer
//!   refuses (`unsupported startup parameter`), and any session-level `SET`.
//! - session-level advisory locks (sqlx's migration lock) and `LISTEN`.
//!
//! So in that mode every call runs inside a transaction of its own (see [`pooled_begin`]):
//! one round trip opens it with `BEGIN; SET LOCAL statement_timeout = …; DEALLOCATE ALL`, which
//! pins the backend for the whole call, gives the statement timeout for this transaction only,
//! and drops whatever statements an earlier client left on that backend before sqlx parses
//! its own; nothing is cached across calls (`statement_cache_capacity(0)`), and no startup
//! options are sent. The migrations and `LISTEN` use the direct URL
//! ([`DatabaseSettings::direct`]).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

use passport_actix::session::{MAX_UNUSED_REFRESH_TOKENS, Rotated, Rotation, SessionRecord};

use super::User;
use super::audit::RotationAudit;
use super::queries::with_amr;
use crate::configuration::{DatabaseSettings, PoolMode};

/// Connections idle for longer than this are pinged (with [`ping_timeout`]) before use: a
/// connection a silent partition killed is found and replaced instead of failing a request.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Idle connections above `min_connections` are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// No connection lives longer than this (spreads reconnects after failovers, bounds state).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The bound on one pool-side check (a ping before use or on return): a quarter of the
/// database timeout, at most one second.
pub(super) fn ping_timeout(settings: &DatabaseSettings) -> Duration {
    (settings.timeout / 4).min(Duration::from_secs(1))
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

/// The statement that opens every call's transaction behind a transaction pooler (`None`
/// in session mode): it pins one backend for the call, sets the statement timeout for this
/// transaction only, and drops the prepared statements an earlier client left on that
/// backend (sqlx names its statements per client connection, from `sqlx_s_1`).
pub(super) fn pooled_begin(settings: &DatabaseSettings) -> Option<String> {
    (settings.pool_mode == PoolMode::Transaction).then(|| {
        format!(
            "BEGIN; SET LOCAL statement_timeout = {}; DEALLOCATE ALL",
            settings.timeout.as_millis()
        )
    })
}

/// The pool on `options` (`DATABASE_URL`), with the migrations applied first (on a
/// connection of their own, without the requests' `statement_timeout`, to
/// [`DatabaseSettings::direct`] when set).
pub(super) async fn connect(
    options: &PgConnectOptions,
    settings: &DatabaseSettings,
) -> anyhow::Result<PgPool> {
    let timeout_ms = settings.timeout.as_millis().to_string();
    let options = match settings.pool_mode {
        // statement_timeout: the server abandons a statement the client has given up on.
        // tcp_keepalives_*: the server drops the backends of clients a partition took away.
        PoolMode::Session => options.clone().options([
            ("statement_timeout", timeout_ms.as_str()),
            ("tcp_keepalives_idle", "30"),
            ("tcp_keepalives_interval", "10"),
            ("tcp_keepalives_count", "3"),
        ]),
        // No startup parameter a pooler would refuse (the statement timeout is set per
        // transaction instead; keepalives are the pooler's own settings), no statement cache.
        PoolMode::Transaction => options
            .clone()
            .extra_float_digits(None)
            .statement_cache_capacity(0),
    }
    .application_name("passport-server");
    let (direct, direct_name) = match settings.direct() {
        Some(direct) => (direct.clone(), "DATABASE_DIRECT_URL"),
        None => (options.clone(), "DATABASE_URL"),
    };
    let direct = direct.application_name("passport-server-migrations");
    let ping_bound = ping_timeout(settings);
    // One direct connection first: its error says why (refused, auth, no such database),
    // where a pool would only say it timed out.
    let target = format!(
        "{}:{}/{}",
        direct.get_host(),
        direct.get_port(),
        direct.get_database().unwrap_or("")
    );
    let mut conn =
        match tokio::time::timeout(settings.timeout, PgConnection::connect_with(&direct)).await {
            Err(_) => anyhow::bail!(
                "cannot connect to PostgreSQL at {target} ({direct_name}): no answer within {:?}",
                settings.timeout
            ),
            Ok(Err(e)) => {
                anyhow::bail!("cannot connect to PostgreSQL at {target} ({direct_name}): {e}")
            }
            Ok(Ok(conn)) => conn,
        };
    // The migrations run on that connection without the requests' statement_timeout: a
    // migration may rightly take longer than a request may (an index on a big table), and a
    // second instance starting meanwhile waits for the first one's migration lock.
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut conn)
        .await
        .map_err(|e| anyhow::anyhow!("cannot prepare the PostgreSQL migrations: {e}"))?;
    sqlx::migrate!("../../migrations")
        .run(&mut conn)
        .await
        .map_err(|e| anyhow::anyhow!("cannot apply the PostgreSQL migrations: {e}"))?;
    conn.close().await?;
    let pool = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.timeout)
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
    Ok(pool)
}

/// A pool of `max` connections on `pool`'s options with the same bounded checks as the main
/// pool (a ping bounded by `ping_bound` before reusing a connection idle > 1 s and on return,
/// sqlx's unbounded test off, idle and lifetime limits): for work that must not share the
/// main pool's slots (the revocation heartbeat), and must not hang on a black-holed
/// connection either.
pub(super) fn side_pool(
    pool: &PgPool,
    max: u32,
    acquire: Duration,
    ping_bound: Duration,
) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire)
        .idle_timeout(IDLE_TIMEOUT)
        .max_lifetime(MAX_LIFETIME)
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
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// `after_release`: a connection that does not answer a bounded ping is closed rather than
/// returned (sqlx then pings once more without a bound, which a live connection answers at once).
async fn bounded_ping_kept(conn: &mut PgConnection, bound: Duration) -> Result<bool, sqlx::Error> {
    bounded_ping(conn, bound).await.map(|()| true)
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

/// One round trip: the statement calls `passport_rotate_refresh_token` (migration
/// `20261202000600_rotate_refresh_token.sql`), which runs the rotation as one transaction on
/// the database's clock. It locks the session row first (the same order as a revocation or a
/// deletion, so they cannot deadlock), which also serializes concurrent refreshes of one
/// session; a reuse revokes the session; otherwise the replacement goes in (at most
/// [`MAX_UNUSED_REFRESH_TOKENS`] unused per session) and the presented token is marked used,
/// keeping an earlier use time. With `audit`, the event's row is written in the same
/// transaction.
pub(super) async fn rotate(
    conn: &mut PgConnection,
    r: &Rotation,
    audit: Option<&RotationAudit>,
) -> Result<Rotated<User>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT outcome, session_id, expires_at, amr, id, email
         FROM passport_rotate_refresh_token($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.presented.as_str())
    .bind(r.replacement.as_str())
    .bind(r.grace_ms)
    .bind(MAX_UNUSED_REFRESH_TOKENS)
    .bind(audit.is_some())
    .bind(r.now_ms)
    .bind(audit.and_then(|a| a.client_addr.as_deref()))
    .bind(audit.and_then(|a| a.user_agent.as_deref()))
    .fetch_one(&mut *conn)
    .await?;
    let outcome: String = row.try_get("outcome")?;
    match outcome.as_str() {
        "rotated" => {
            let session_id: Uuid = row.try_get("session_id")?;
            let user = with_amr(
                User::new(row.try_get::<Uuid, _>("id")?, row.try_get("email")?),
                &row,
            )?;
            Ok(Rotated::Rotated {
                session: SessionRecord {
                    session_id: session_id.to_string(),
                    user_id: user.id.to_string(),
                    expires_at_ms: row.try_get("expires_at")?,
                    amr: user.amr.clone(),
                },
                user,
            })
        }
        "reuse" => Ok(Rotated::ReuseDetected {
            session_id: row.try_get::<Uuid, _>("session_id")?.to_string(),
        }),
        _ => Ok(Rotated::Invalid),
    }
}
