//! Connecting to PostgreSQL: the connection pool (bounded pings, server-side timeouts) and the
//! migrations. (The signup insert's deadline and the rotation's row lock are the library's:
//! `passport_actix::store::postgres`.)
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
//! So in that mode every call runs inside a transaction of its own (see `passport_actix::store::SqlStore::transaction_pooling`):
//! one round trip opens it with `BEGIN; SET LOCAL statement_timeout = …; DEALLOCATE ALL`, which
//! pins the backend for the whole call, gives the statement timeout for this transaction only,
//! and drops whatever statements an earlier client left on that backend before sqlx parses
//! its own; nothing is cached across calls (`statement_cache_capacity(0)`), and no startup
//! options are sent. The migrations and `LISTEN` use the direct URL
//! ([`DatabaseSettings::direct`]).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use passport_actix::store::postgres::{bounded_ping, settle_on_release};

use crate::configuration::{DatabaseSettings, PoolMode};

/// Connections idle for longer than this are pinged (with [`ping_timeout`]) before use: a
/// connection a silent partition killed is found and replaced instead of failing a request.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(1);
/// Idle connections above `min_connections` are closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// No connection lives longer than this (spreads reconnects after failovers, bounds state).
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The bound on one pool-side check (a ping before use, the wait for owed replies on return):
/// a quarter of the database timeout, at most one second.
pub(super) fn ping_timeout(settings: &DatabaseSettings) -> Duration {
    (settings.timeout / 4).min(Duration::from_secs(1))
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
    let pool = bounded_checks(PgPoolOptions::new(), ping_bound)
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.timeout)
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at DATABASE_URL: {e}"))?;
    Ok(pool)
}

/// A pool of `max` connections on `pool`'s options with the main pool's
/// [`bounded_checks`]: for work that must not share the main pool's slots (the revocation
/// heartbeat), and must not hang on a black-holed connection either.
pub(super) fn side_pool(
    pool: &PgPool,
    max: u32,
    acquire: Duration,
    ping_bound: Duration,
) -> PgPool {
    bounded_checks(PgPoolOptions::new(), ping_bound)
        .max_connections(max)
        .acquire_timeout(acquire)
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// The checks and limits both pools share. sqlx's own checks have no time limit (a ping on a
/// black-holed connection waits for ever, holding its slot): the one before use is replaced
/// by a ping bounded by `ping_bound` for a connection idle > 1 s, and the one on return
/// (which no option turns off) is preceded by a wait, bounded too, for any reply the
/// connection still owes (`settle_on_release`: no round trip when it owes none, as after
/// every call that got its answer). Idle connections close after a minute, every connection
/// after 30 minutes.
fn bounded_checks(options: PgPoolOptions, ping_bound: Duration) -> PgPoolOptions {
    options
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
        .after_release(move |conn, _meta| Box::pin(settle_on_release(conn, ping_bound)))
}
