//! Test support: start the real server on a random port against a fresh database.
//!
//! Every [`TestApp`] gets its own PostgreSQL database (created from `TEST_DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`, and dropped afterwards) or its own
//! SQLite file in a temporary folder.
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use passport_server::configuration::Settings;
use passport_server::startup::Application;
use serde_json::{Value, json};
use sqlx::Connection;
use uuid::Uuid;

pub use passport_server;

pub mod browser;
pub mod oidc_provider;
pub mod scaleout;
pub mod smtp;

/// The JWT secret every test server uses, so tests can sign tokens of their own.
pub const TEST_JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
/// The issuer and audience of test servers.
pub const TEST_ISSUER: &str = "passport-server";
pub const TEST_AUDIENCE: &str = "passport-api";

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Generates one `#[tokio::test]` per backend for an `async fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$name($crate::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
        }
    )+};
}

/// The admin connection string for PostgreSQL test databases.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `passport_test_<uuid>`, or `passport_test_<run>_<16 hex>` when `PASSPORT_TEST_RUN_ID` names
/// the run (`.ci/run` does, to drop exactly its own leftovers after an interrupted run).
fn database_name() -> String {
    let id = Uuid::new_v4().simple().to_string();
    match std::env::var("PASSPORT_TEST_RUN_ID") {
        Ok(run)
            if (1..=16).contains(&run.len())
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            format!("passport_test_{run}_{}", &id[..16])
        }
        _ => format!("passport_test_{id}"),
    }
}

/// A database that exists for one test and is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    name: String,
    dir: Option<PathBuf>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => {
                let name = database_name();
                let admin = admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required by the end-to-end tests and is not reachable at {admin}: {e}. \
                         Start it (bash .ci/run does) or set TEST_DATABASE_URL."
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("TEST_DATABASE_URL must end with /<database>"),
                };
                Self {
                    url,
                    backend,
                    name,
                    dir: None,
                }
            }
            Backend::Sqlite => {
                let dir =
                    std::env::temp_dir().join(format!("passport-test-{}", Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("test.db").display());
                Self {
                    url,
                    backend,
                    name: String::new(),
                    dir: Some(dir),
                }
            }
        }
    }

    /// A direct connection pool to this database, for arranging and checking rows.
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if self.backend == Backend::Postgres {
            let name = self.name.clone();
            // Drop runs inside the test's runtime; a fresh thread may block on its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The test servers' `MFA_ENCRYPTION_KEY` (TOTP secrets at rest).
pub const TEST_MFA_KEY: &str = "6d66612d746573742d6b65792d6d66612d746573742d6b65792d6d66612d2121";

/// The environment of a test server; tests override entries before spawning.
pub fn test_env(database_url: &str) -> HashMap<String, String> {
    [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("WORKERS", "2"),
        ("DATABASE_URL", database_url),
        ("DATABASE_TIMEOUT_SECONDS", "3"),
        ("JWT_SECRET", TEST_JWT_SECRET),
        ("BCRYPT_COST", "4"),
        ("RATE_LIMIT_PER_MINUTE", "10000"),
        // 32 bytes (hex): production refuses to start without a key for TOTP secrets.
        ("MFA_ENCRYPTION_KEY", TEST_MFA_KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A running server on a database it owns, and a client for it. It derefs to its
/// [`TestInstance`]: `app.url(..)`, `app.client`, `app.signup(..)` and so on.
pub struct TestApp {
    /// The server (declared first: stopped before the database is dropped).
    pub server: TestInstance,
    pub db: TestDatabase,
}

impl std::ops::Deref for TestApp {
    type Target = TestInstance;

    fn deref(&self) -> &TestInstance {
        &self.server
    }
}

impl TestApp {
    /// A server on a fresh database of `backend` with the default test settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server on a fresh database, after `configure` has changed the environment.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut HashMap<String, String>),
    ) -> Self {
        let db = TestDatabase::create(backend).await;
        let mut env = test_env(&db.url);
        configure(&mut env);
        Self::spawn_on(db, env).await
    }

    /// A server on an existing database with exactly this environment.
    pub async fn spawn_on(db: TestDatabase, env: HashMap<String, String>) -> Self {
        let server = TestInstance::start(env).await;
        Self { server, db }
    }

    /// [`spawn_with`](Self::spawn_with), with the start-up error returned instead of a panic
    /// (for a set-up that can retry, such as a `BIND_ADDR` port reserved in advance).
    pub async fn try_spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut HashMap<String, String>),
    ) -> Result<Self, String> {
        let db = TestDatabase::create(backend).await;
        let mut env = test_env(&db.url);
        configure(&mut env);
        let server = TestInstance::try_start(env).await?;
        Ok(Self { server, db })
    }
}

/// Signs arbitrary claims with the test secret and a header of the caller's choice.
pub fn sign(header: &jsonwebtoken::Header, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        header,
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A response's status, headers and body, for assertions that print well.
pub struct Captured {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Captured {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let body = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("the body of {status} from {url} did not arrive: {e:?}"));
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a JSON error body `{"error": code, "message": …}`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        let body = self.json();
        assert_eq!(body["error"], code, "body: {}", self.body);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "body: {}",
            self.body
        );
    }
}

/// Replaces the `host:port` of a `postgres://` URL, keeping user, database and parameters.
pub fn with_host_port(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("not a URL: {url}"));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{addr}/{path}")
}

/// The `host:port` of a `postgres://` URL (port 5432 when none is given).
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

impl TestDatabase {
    /// This database's URL, but reaching PostgreSQL through `proxy`.
    pub fn url_through(&self, proxy: &TcpProxy) -> String {
        assert_eq!(
            self.backend,
            Backend::Postgres,
            "only PostgreSQL is reached over TCP"
        );
        with_host_port(&self.url, proxy.addr())
    }
}

/// A running server and a client for it; on its own, a second server on the database of a
/// [`TestApp`], which keeps owning that database.
///
/// Drop it before the `TestApp` it shares with (declare it after, or drop it explicitly).
pub struct TestInstance {
    pub address: String,
    pub port: u16,
    /// The metrics listener's port (`METRICS_ADDR` set).
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    pub settings: Settings,
    handle: ServerHandle,
}

impl TestApp {
    /// Another server on this app's database (the default test environment, on `self.db.url`,
    /// after `configure`): for tests of state shared between instances.
    pub async fn spawn_sharing(
        &self,
        configure: impl FnOnce(&mut HashMap<String, String>),
    ) -> TestInstance {
        let mut env = test_env(&self.db.url);
        configure(&mut env);
        TestInstance::start(env).await
    }
}

impl TestInstance {
    /// Starts the real server in this process with exactly this environment, on port 0.
    pub async fn start(env: HashMap<String, String>) -> Self {
        Self::try_start(env).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`start`](Self::start), with the reason it could not start returned.
    pub async fn try_start(env: HashMap<String, String>) -> Result<Self, String> {
        Self::try_start_hashing_on(env, None).await
    }

    /// [`start`](Self::start) with password hashing on `hashing`, a pool of the test's own
    /// (hold its one thread to make a login wait at a known point, deterministically).
    pub async fn start_hashing_on(
        env: HashMap<String, String>,
        hashing: passport_actix::BlockingPool,
    ) -> Self {
        Self::try_start_hashing_on(env, Some(hashing))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn try_start_hashing_on(
        env: HashMap<String, String>,
        hashing: Option<passport_actix::BlockingPool>,
    ) -> Result<Self, String> {
        let settings = Settings::from_lookup(|name| env.get(name).cloned())
            .map_err(|e| format!("the test settings are refused: {e}"))?;
        let app = Application::build_with_hashing(settings.clone(), hashing)
            .await
            .map_err(|e| format!("the test server did not start: {e:#}"))?;
        let port = app.port();
        let metrics_port = app.metrics_port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Shorter than the server's keep-alive (actix: 5 s), so a pooled connection is
            // never reused at the moment the server closes it.
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap();
        Ok(Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            metrics_port,
            client,
            settings,
            handle,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn signup(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/signup", &json!({ "email": email, "password": password }))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/login", &json!({ "email": email, "password": password }))
            .await
    }

    /// Signs up and logs in; returns the token.
    pub async fn token_for(&self, email: &str, password: &str) -> String {
        assert_eq!(self.signup(email, password).await.status(), 201);
        let body: Value = self.login(email, password).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn profile_with_query(&self, token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/user/profile"))
            .query(&[("secret_token", token)])
            .send()
            .await
            .unwrap()
    }

    pub async fn profile_with_bearer(&self, token: &str) -> reqwest::Response {
        self.client
            .get(self.url("/user/profile"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the whole body (`token`, `refresh_token`, …), asserting a 200.
    pub async fn login_pair(&self, email: &str, password: &str) -> Value {
        let response = Captured::from(self.login(email, password).await).await;
        assert_eq!(response.status, 200, "login: {}", response.body);
        response.json()
    }

    /// `POST /token/refresh` with a JSON body.
    pub async fn refresh(&self, refresh_token: &str) -> Captured {
        Captured::from(self.refresh_response(refresh_token).await).await
    }

    /// `POST /token/refresh` with a JSON body, the raw response.
    pub async fn refresh_response(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/token/refresh", &json!({ "refresh_token": refresh_token }))
            .await
    }

    /// `POST /logout[?scope=…]` with a bearer token.
    pub async fn logout(&self, token: &str, scope: Option<&str>) -> Captured {
        let mut request = self.client.post(self.url("/logout")).bearer_auth(token);
        if let Some(scope) = scope {
            request = request.query(&[("scope", scope)]);
        }
        Captured::from(request.send().await.unwrap()).await
    }

    /// The status `/user/profile` answers for this bearer token.
    pub async fn profile_status(&self, token: &str) -> u16 {
        self.profile_with_bearer(token).await.status().as_u16()
    }

    /// Stops the server (in-flight requests finish first).
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

impl Drop for TestInstance {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// What a [`TcpProxy`] does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Bytes flow both ways.
    Open,
    /// Every live connection is closed; new ones are accepted and closed at once.
    Cut,
    /// A network partition: connections stay open but no byte goes through until the proxy
    /// is opened again (then the held bytes flow on, in order).
    Hang,
}

/// A TCP proxy the test controls, to put faults between the server and PostgreSQL.
///
/// It listens on `127.0.0.1:0` and forwards to `upstream`; [`cut`](Self::cut),
/// [`hang`](Self::hang) and [`restore`](Self::restore) switch it at any moment.
pub struct TcpProxy {
    addr: std::net::SocketAddr,
    mode: std::sync::Arc<tokio::sync::watch::Sender<ProxyMode>>,
    /// Connections accepted before this generation are black-holed for good.
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Connections accepted before this generation go silent for good right after their next
    /// query (see [`TcpProxy::silence_existing_after_their_next_query`]).
    query_trap: std::sync::Arc<std::sync::atomic::AtomicU64>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    bytes_up: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    accept_loop: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy to the PostgreSQL server of [`admin_url`].
    pub async fn to_postgres() -> Self {
        let upstream = host_port(&admin_url());
        let upstream = tokio::net::lookup_host(&upstream)
            .await
            .unwrap_or_else(|e| panic!("cannot resolve {upstream}: {e}"))
            .next()
            .unwrap();
        Self::start(upstream).await
    }

    /// A proxy to `upstream`, open.
    pub async fn start(upstream: std::net::SocketAddr) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(tokio::sync::watch::Sender::new(ProxyMode::Open));
        let accepted = Arc::new(AtomicUsize::new(0));
        let bytes_up = Arc::new(AtomicUsize::new(0));
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let query_trap = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let accept_loop = tokio::spawn({
            let mode = Arc::clone(&mode);
            let accepted = Arc::clone(&accepted);
            let bytes_up = Arc::clone(&bytes_up);
            let generation = Arc::clone(&generation);
            let query_trap = Arc::clone(&query_trap);
            async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    if *mode.borrow() == ProxyMode::Cut {
                        drop(client);
                        continue;
                    }
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let rx = mode.subscribe();
                    let bytes_up = Arc::clone(&bytes_up);
                    let live = Liveness {
                        born: generation.load(Ordering::SeqCst),
                        current: Arc::clone(&generation),
                        born_trap: query_trap.load(Ordering::SeqCst),
                        trap: Arc::clone(&query_trap),
                        silenced: Arc::new(std::sync::atomic::AtomicBool::new(false)),
                    };
                    tokio::spawn(async move {
                        let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        // Whichever ends first (a side closes, or the proxy is cut) drops
                        // all four halves, closing both connections.
                        tokio::select! {
                            () = pump(client_read, server_write, rx.clone(), live.clone(), Some(bytes_up)) => {}
                            () = pump(server_read, client_write, rx.clone(), live, None) => {}
                            () = until_cut(rx) => {}
                        }
                    });
                }
            }
        });
        Self {
            addr,
            mode,
            generation,
            query_trap,
            accepted,
            bytes_up,
            accept_loop,
        }
    }

    /// The address to connect to instead of the upstream.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// How many connections were let through so far (not counting those refused while cut).
    pub fn connections_accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many bytes went from clients to the upstream so far (queries, for PostgreSQL).
    pub fn bytes_up(&self) -> usize {
        self.bytes_up.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Closes every live connection and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.mode.send_replace(ProxyMode::Cut);
    }

    /// Holds every byte (live and new connections) until [`restore`](Self::restore).
    pub fn hang(&self) {
        self.mode.send_replace(ProxyMode::Hang);
    }

    /// Lets traffic flow again.
    pub fn restore(&self) {
        self.mode.send_replace(ProxyMode::Open);
    }

    /// Heals a partition the way a NAT or firewall that forgot its flows does: new connections
    /// work, but every connection that exists now stays silent for good — no byte in either
    /// direction, no FIN, no RST.
    pub fn restore_dropping_existing(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.mode.send_replace(ProxyMode::Open);
    }

    /// A partition that strikes mid-query: every connection that exists now forwards its next
    /// PostgreSQL message other than a bare `Sync` (a query; a `Sync` alone is a client's
    /// liveness ping and still goes through) to the server, and from then on stays silent for
    /// good in both directions (no reply, no FIN, no RST). New connections work.
    ///
    /// Unlike [`restore_dropping_existing`](Self::restore_dropping_existing), which catches
    /// connections wherever they are (mostly idle in a pool), this one makes sure the client
    /// is waiting for a reply when the silence begins.
    pub fn silence_existing_after_their_next_query(&self) {
        self.query_trap
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
        self.mode.send_replace(ProxyMode::Cut);
    }
}

/// Whether a proxied connection still carries bytes (it was accepted in the current
/// generation, see [`TcpProxy::restore_dropping_existing`], and was not silenced after a
/// query, see [`TcpProxy::silence_existing_after_their_next_query`]).
#[derive(Clone)]
struct Liveness {
    born: u64,
    current: std::sync::Arc<std::sync::atomic::AtomicU64>,
    born_trap: u64,
    trap: std::sync::Arc<std::sync::atomic::AtomicU64>,
    silenced: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Liveness {
    fn dropped(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.born < self.current.load(Ordering::SeqCst) || self.silenced.load(Ordering::SeqCst)
    }

    /// Whether `upstream_bytes` (a client's write) springs the query trap on this connection:
    /// it was armed and this is a message other than a bare `Sync` (`S`, length 4).
    fn springs_trap(&self, upstream_bytes: &[u8]) -> bool {
        const SYNC: [u8; 5] = [b'S', 0, 0, 0, 4];
        self.born_trap < self.trap.load(std::sync::atomic::Ordering::SeqCst)
            && upstream_bytes != SYNC
    }
}

/// Copies `from` to `to`, holding bytes while the proxy hangs; returns on EOF, error or cut.
/// A connection the proxy dropped holds its bytes for ever (until cut).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: tokio::sync::watch::Receiver<ProxyMode>,
    live: Liveness,
    counter: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        loop {
            let current = *mode.borrow_and_update();
            match current {
                ProxyMode::Open if live.dropped() => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
                ProxyMode::Open => break,
                ProxyMode::Cut => return,
                ProxyMode::Hang => {
                    if mode.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
        if counter.is_some() && live.springs_trap(&buffer[..n]) {
            // This query reaches the server; its reply and everything after it do not.
            live.silenced
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // Counted before it is forwarded: whoever sees the reply sees the count.
        if let Some(counter) = &counter {
            counter.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Returns once the proxy is cut (or gone).
async fn until_cut(mut mode: tokio::sync::watch::Receiver<ProxyMode>) {
    loop {
        if *mode.borrow_and_update() == ProxyMode::Cut {
            return;
        }
        if mode.changed().await.is_err() {
            return;
        }
    }
}

/// The claims of a JWT, decoded without verification (the test reads what the server wrote).
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Polls `check` every 10 ms until it is true or `limit` has passed; returns how long it took,
/// or `None` if it never became true.
pub async fn within<F, Fut>(limit: std::time::Duration, mut check: F) -> Option<std::time::Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return Some(started.elapsed());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The median of `samples` (sorted in place), in seconds.
pub fn median(samples: &mut [std::time::Duration]) -> f64 {
    assert!(!samples.is_empty());
    samples.sort();
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid].as_secs_f64()
    } else {
        (samples[mid - 1].as_secs_f64() + samples[mid].as_secs_f64()) / 2.0
    }
}
