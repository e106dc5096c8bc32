//! Keeping every instance's session liveness cache coherent through PostgreSQL
//! `LISTEN`/`NOTIFY`.
//!
//! Database triggers publish on [`CHANNEL`] every change that can end a session's tokens
//! (`session:<id>` when a session is revoked or deleted, `user:<id>` when a user is changed or
//! deleted), whoever makes it — this server, another instance, an operator in psql. Each
//! instance listens on a connection of its own and drops what it hears from its
//! [`LivenessCache`].
//!
//! A listener that stops hearing must not leave the cache answering: every
//! [`HEARTBEAT_EVERY`] the instance publishes a ping of its own, stamped with the time it was
//! sent, on a connection of its own, and only the ping coming back through the listener
//! extends the cache's trust, to [`TRUST_WINDOW`] after it was *sent*. PostgreSQL delivers
//! notifications in commit order, so a ping heard means every revocation committed before it
//! was heard too, and a slow listener cannot stretch the window. A silent listener (a black-holed
//! connection) therefore turns the cache off within [`TRUST_WINDOW`] — requests read the
//! database, slower but never stale — and is replaced after [`RECONNECT_AFTER`]; the cache is
//! emptied each time a listener (re)subscribes, since it may have missed notifications.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use passport_actix::session::LivenessCache;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use tokio::task::JoinHandle;

use crate::configuration::database::{DatabaseSettings, DatabaseUrl};
use crate::store::{Database, Store, User};

/// The notification channel the triggers publish on.
pub const CHANNEL: &str = "passport_revocations";
/// How often an instance pings itself through the channel.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(100);
/// How long the cache is trusted after a ping is heard.
pub const TRUST_WINDOW: Duration = Duration::from_millis(500);
/// How long without a ping before the listener connection is replaced.
pub const RECONNECT_AFTER: Duration = Duration::from_secs(2);
/// The longest a connection attempt for the listener may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

type Cache = LivenessCache<(User, i64)>;

/// The background tasks that keep the cache coherent; stopped on drop.
#[derive(Debug)]
pub struct RevocationListener {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for RevocationListener {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl RevocationListener {
    /// Starts listening when the store is PostgreSQL (on SQLite the cache is never trusted, so
    /// there is nothing to keep coherent). Must be called inside
    /// a Tokio runtime.
    pub fn start(database: &DatabaseSettings, store: &Store) -> anyhow::Result<Option<Self>> {
        let Database::Postgres(_) = store.database() else {
            return Ok(None);
        };
        let Some(options) = listen_options(database) else {
            return Ok(None);
        };
        let instance = format!("ping:{}:", uuid::Uuid::new_v4().simple());
        let cache = Arc::clone(store.liveness());
        let heard = Arc::new(Heartbeat::default());
        // A connection of its own, so a saturated pool cannot silence the heartbeat (which
        // would turn the cache off just when the database is busiest), with the main pool's
        // bounded checks, so a black-holed connection cannot hold it until the TCP timeout.
        let Some(pings) = store.side_pool(Duration::from_secs(1)) else {
            return Ok(None);
        };
        let tasks = vec![
            tokio::spawn(ping(pings, instance.clone(), Arc::clone(&heard))),
            tokio::spawn(supervise(options, instance, cache, heard)),
        ];
        Ok(Some(Self { tasks }))
    }
}

/// The listener's connection: `DATABASE_LISTEN_URL`, else `DATABASE_DIRECT_URL`, else
/// `DATABASE_URL` (`None` on SQLite).
fn listen_options(database: &DatabaseSettings) -> Option<PgConnectOptions> {
    let direct = database
        .listen_url
        .as_ref()
        .or(database.direct_url.as_ref());
    let options = match (direct, &database.url) {
        (Some(listen), _) => listen.clone(),
        (None, DatabaseUrl::Postgres(options)) => options.clone(),
        (None, DatabaseUrl::Sqlite(_)) => return None,
    };
    Some(options.application_name("passport-server-listener"))
}

/// When this instance last heard its own ping, and the clock its pings are stamped with.
#[derive(Debug)]
struct Heartbeat {
    last: std::sync::Mutex<Instant>,
    subscribed: AtomicBool,
    origin: Instant,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            last: std::sync::Mutex::new(Instant::now()),
            subscribed: AtomicBool::new(false),
            origin: Instant::now(),
        }
    }
}

impl Heartbeat {
    fn beat(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = Instant::now();
        }
    }

    fn silent_for(&self) -> Duration {
        self.last
            .lock()
            .map_or(Duration::MAX, |last| last.elapsed())
    }
}

/// How long the heartbeat keeps one connection before it takes a fresh one (the main pool's
/// connection lifetime).
const HEARTBEAT_CONNECTION_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Publishes this instance's ping, stamped with when it was sent, forever.
///
/// The heartbeat holds its connection from one beat to the next and never hands it back to
/// the pool: a connection returned to an sqlx pool is pinged without a time limit (sqlx 0.8's
/// own check on return, after our bounded wait for owed replies), and a partition that
/// struck between its last reply and that ping would hold the pool's one place until the TCP
/// timeout — the heartbeat, and so the cache, off for good. A connection that errs or stays
/// silent is detached (closed, never waited on), and the next beat takes a fresh one.
async fn ping(pool: PgPool, instance: String, heard: Arc<Heartbeat>) {
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut held: Option<(PoolConnection<Postgres>, Instant)> = None;
    loop {
        tick.tick().await;
        if held
            .as_ref()
            .is_some_and(|(_, since)| since.elapsed() > HEARTBEAT_CONNECTION_LIFETIME)
            && let Some((old, _)) = held.take()
        {
            drop(old.detach());
        }
        // Stamped before sending: a ping heard vouches only for what was committed before it.
        let payload = format!("{instance}{}", heard.origin.elapsed().as_millis());
        if held.is_none() {
            match pool.acquire().await {
                Ok(conn) => held = Some((conn, Instant::now())),
                Err(error) => {
                    tracing::debug!(%error, "revocation heartbeat: no connection");
                    continue;
                }
            }
        }
        let Some((conn, _)) = held.as_mut() else {
            continue;
        };
        // A plain string without arguments goes by the simple query protocol (no prepared
        // statement): safe through a transaction pooler too. The payload is this process's own `ping:<hex>:<digits>`.
        let sql = format!("SELECT pg_notify('{CHANNEL}', '{payload}')");
        let sent = sqlx::Executor::execute(&mut **conn, sql.as_str());
        let failed = match tokio::time::timeout(Duration::from_secs(1), sent).await {
            Ok(Ok(_)) => false,
            Ok(Err(error)) => {
                tracing::debug!(%error, "revocation heartbeat not sent");
                true
            }
            Err(_) => {
                tracing::debug!("revocation heartbeat timed out");
                true
            }
        };
        if failed && let Some((conn, _)) = held.take() {
            // Closed, never returned (a return would ping it without a bound): the next beat
            // opens a fresh connection.
            drop(conn.detach());
        }
    }
}

/// Runs a listener, and replaces it whenever it ends or goes silent.
async fn supervise(
    options: PgConnectOptions,
    instance: String,
    cache: Arc<Cache>,
    heard: Arc<Heartbeat>,
) {
    let mut reported_down = false;
    loop {
        heard.subscribed.store(false, Ordering::Release);
        heard.beat(); // a fresh listener gets the full RECONNECT_AFTER to hear its first ping
        let task = tokio::spawn(listen(
            options.clone(),
            instance.clone(),
            Arc::clone(&cache),
            Arc::clone(&heard),
        ));
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if task.is_finished() {
                break;
            }
            if heard.silent_for() > RECONNECT_AFTER {
                task.abort();
                break;
            }
        }
        if heard.subscribed.load(Ordering::Acquire) || !reported_down {
            tracing::warn!(
                "the revocation listener lost its connection; sessions are checked in the \
                 database until it is back"
            );
            reported_down = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One listener connection: subscribe, empty the cache, then apply what is heard.
async fn listen(
    options: PgConnectOptions,
    instance: String,
    cache: Arc<Cache>,
    heard: Arc<Heartbeat>,
) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_lazy_with(options);
    let subscribe = async {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sqlx::Error>(listener)
    };
    let mut listener = match tokio::time::timeout(CONNECT_TIMEOUT, subscribe).await {
        Ok(Ok(listener)) => listener,
        Ok(Err(error)) => {
            tracing::debug!(%error, "the revocation listener cannot connect");
            return;
        }
        Err(_) => {
            tracing::debug!("the revocation listener timed out connecting");
            return;
        }
    };
    // Anything cached so far may have missed a notification while nobody listened.
    cache.clear();
    heard.subscribed.store(true, Ordering::Release);
    tracing::info!("revocation listener subscribed");
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                let payload = notification.payload();
                if let Some(stamp) = payload.strip_prefix(instance.as_str()) {
                    // Trust runs from when the ping was sent, not heard, so a slow listener
                    // cannot stretch it: staleness stays under TRUST_WINDOW.
                    if let Ok(sent_ms) = stamp.parse::<u64>() {
                        heard.beat();
                        cache.trust_until(
                            heard.origin + Duration::from_millis(sent_ms) + TRUST_WINDOW,
                        );
                    }
                } else if payload == "all" {
                    cache.clear();
                } else if let Some(session) = payload.strip_prefix("session:") {
                    cache.invalidate(session);
                } else if let Some(user) = payload.strip_prefix("user:") {
                    cache.invalidate_user(user);
                }
            }
            // The connection was lost: notifications may have been missed from now on.
            Ok(None) | Err(_) => {
                cache.distrust();
                return;
            }
        }
    }
}
