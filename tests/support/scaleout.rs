//! Real daemons for the scale-out tests: Debian's PgBouncer in transaction mode in front of
//! the test PostgreSQL, and HAProxy balancing round-robin over several server instances.
//!
//! Each daemon runs in the foreground as a child of the test process, on a loopback port
//! picked for it, with its configuration in a temporary folder of its own; dropping it kills
//! and reaps it, and removes the folder. [`Daemons::find`] says whether the binaries are
//! installed: under `CI=true` their absence fails the test, elsewhere it skips it loudly (as
//! the OpenID and browser tests do).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long a daemon may take to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many fresh ports a daemon is tried on when another process takes the one picked.
const START_ATTEMPTS: usize = 3;

/// The installed binaries.
#[derive(Debug, Clone)]
pub struct Daemons {
    pub pgbouncer: PathBuf,
    pub haproxy: PathBuf,
}

impl Daemons {
    /// `pgbouncer` and `haproxy` from `PATH` (or `/usr/sbin`); `None` (after saying so on
    /// stderr) when one is missing outside CI; a panic under `CI=true`.
    pub fn find() -> Option<Self> {
        let pgbouncer = which("pgbouncer");
        let haproxy = which("haproxy");
        if let (Some(pgbouncer), Some(haproxy)) = (&pgbouncer, &haproxy) {
            return Some(Self {
                pgbouncer: pgbouncer.clone(),
                haproxy: haproxy.clone(),
            });
        }
        let why = format!(
            "the scale-out tests need PgBouncer and HAProxy (pgbouncer: {}, haproxy: {}); \
             apt-get install pgbouncer haproxy (bash .ci/run does)",
            pgbouncer.map_or("missing".into(), |p| p.display().to_string()),
            haproxy.map_or("missing".into(), |p| p.display().to_string()),
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        None
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A loopback port that was free a moment ago (the daemon that gets it binds it itself; a
/// start that loses the port to another process is retried on a new one).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The parts of a `postgres://user[:password]@host[:port]/database` URL.
#[derive(Debug, Clone)]
pub struct PgUrl {
    pub user: String,
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub database: String,
}

impl PgUrl {
    pub fn parse(url: &str) -> Self {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .unwrap_or_else(|| panic!("not a postgres:// URL"));
        let (authority, database) = rest.split_once('/').expect("a /database");
        let database = database.split('?').next().unwrap_or_default().to_owned();
        let (credentials, address) = authority
            .rsplit_once('@')
            .unwrap_or(("postgres", authority));
        let (user, password) = match credentials.split_once(':') {
            Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
            None => (credentials.to_owned(), None),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse().expect("a numeric port")),
            None => (address.to_owned(), 5432),
        };
        Self {
            user,
            password,
            host,
            port,
            database,
        }
    }

    /// The same credentials and database at `127.0.0.1:port` (through the pooler).
    pub fn through(&self, port: u16) -> String {
        let credentials = match &self.password {
            Some(password) => format!("{}:{password}", self.user),
            None => self.user.clone(),
        };
        format!(
            "postgres://{credentials}@127.0.0.1:{port}/{}",
            self.database
        )
    }
}

/// A daemon run by the test: killed and reaped on drop, its folder removed.
pub struct Daemon {
    pub name: &'static str,
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
    command: Command,
}

impl Daemon {
    /// Starts `command` (writing its configuration first with `configure(dir, port)`) and
    /// waits until it accepts connections on `port`; a daemon that exits first (its port was
    /// taken meanwhile) is tried again on a fresh port.
    fn launch(
        name: &'static str,
        make: impl Fn(&Path, u16) -> Command,
        port: Option<u16>,
    ) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("passport-{name}-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{name}: {e}"))?;
        // PgBouncer refuses to run as root and runs as `postgres` then: it must read its
        // configuration.
        let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755));
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = port.unwrap_or_else(free_port);
            let command = make(&dir, port);
            let mut daemon = Self {
                name,
                port,
                child: None,
                dir: dir.clone(),
                command,
            };
            match daemon.start() {
                Ok(()) => return Ok(daemon),
                Err(error) => {
                    // Not removing the folder: the next attempt reuses it.
                    daemon.dir = PathBuf::new();
                    last_error = error;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_error)
    }

    /// (Re)starts the process and waits until its port accepts connections.
    pub fn start(&mut self) -> Result<(), String> {
        let log = self.dir.join(format!("{}.log", self.name));
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", self.name))?;
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| format!("{} did not start: {e}", self.name))?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "{} exited ({status}) before accepting connections on port {}: {}",
                    self.name,
                    self.port,
                    stderr.trim()
                ));
            }
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not accept connections on port {} within {START_TIMEOUT:?}",
                    self.name, self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (SIGKILL, as a crash would) and reaps it; the port is free again
    /// when this returns.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The uid and gid of `postgres` when the tests run as root (PgBouncer refuses root).
fn unprivileged() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self").ok()?;
    if me.uid() != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// Starts PgBouncer in transaction mode on a loopback port, in front of `upstream`'s server
/// for `upstream`'s database, with `pool_size` server connections (`default_pool_size`).
/// Clients connect as `upstream`'s user with any password (`auth_type = any`; PgBouncer logs
/// in to PostgreSQL with `upstream`'s credentials).
pub fn pgbouncer(bin: &Path, upstream: &PgUrl, pool_size: u32) -> Result<Daemon, String> {
    let bin = bin.to_owned();
    let upstream = upstream.clone();
    Daemon::launch(
        "pgbouncer",
        move |dir, port| {
            let password = upstream
                .password
                .as_ref()
                .map(|p| format!(" password={p}"))
                .unwrap_or_default();
            let config = format!(
                "[databases]\n\
                 {db} = host={host} port={pg_port} dbname={db} user={user}{password}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = any\n\
                 pool_mode = transaction\n\
                 default_pool_size = {pool_size}\n\
                 max_client_conn = 200\n\
                 server_login_retry = 1\n\
                 log_connections = 0\n\
                 log_disconnections = 0\n",
                db = upstream.database,
                host = upstream.host,
                pg_port = upstream.port,
                user = upstream.user,
            );
            let file = dir.join("pgbouncer.ini");
            std::fs::write(&file, config).unwrap();
            let mut command = Command::new(&bin);
            command.arg(&file);
            if let Some((uid, gid)) = unprivileged() {
                command.uid(uid).gid(gid);
            }
            command
        },
        None,
    )
}

/// Starts HAProxy on a loopback port, balancing HTTP round-robin over `backends` (each checked
/// with `GET /ready` every 500 ms) and adding `X-Forwarded-For`.
pub fn haproxy(bin: &Path, backends: &[u16]) -> Result<Daemon, String> {
    let bin = bin.to_owned();
    let backends = backends.to_vec();
    Daemon::launch(
        "haproxy",
        move |dir, port| {
            let servers: String = backends
                .iter()
                .enumerate()
                .map(|(i, backend)| {
                    format!("    server s{i} 127.0.0.1:{backend} check inter 500ms fall 2 rise 1\n")
                })
                .collect();
            let config = format!(
                "global\n\
                 \x20   maxconn 512\n\
                 defaults\n\
                 \x20   mode http\n\
                 \x20   timeout connect 2s\n\
                 \x20   timeout client 10s\n\
                 \x20   timeout server 10s\n\
                 \x20   option forwardfor\n\
                 \x20   option redispatch\n\
                 \x20   retries 2\n\
                 frontend api\n\
                 \x20   bind 127.0.0.1:{port}\n\
                 \x20   default_backend instances\n\
                 backend instances\n\
                 \x20   balance roundrobin\n\
                 \x20   option httpchk GET /ready\n\
                 \x20   http-check expect status 200\n\
                 {servers}"
            );
            let file = dir.join("haproxy.cfg");
            std::fs::write(&file, config).unwrap();
            let mut command = Command::new(&bin);
            // -db: foreground, no daemon; -f: this configuration only.
            command.arg("-db").arg("-f").arg(&file);
            command
        },
        None,
    )
}
