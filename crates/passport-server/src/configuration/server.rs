//! The HTTP listener section: `BIND_ADDR`, `WORKERS`, the connection limits, `TRUSTED_PROXIES`,
//! `METRICS_ADDR` and what is mounted (`DOCS`, `DEMO`, `BENCH_ROUTES`).

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

use super::env::{ConfigError, Env, Environment};

/// The HTTP listener and what is mounted on it.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `BIND_ADDR`.
    pub bind_addr: SocketAddr,
    /// `WORKERS` (0: one per core).
    pub workers: usize,
    /// `BODY_READ_TIMEOUT_SECONDS`: the longest a whole request body may take to arrive.
    pub body_read_timeout: Duration,
    /// `MAX_CONNECTIONS_PER_ADDRESS`: concurrent connections one client address may hold.
    pub max_connections_per_address: usize,
    /// `LISTEN_BACKLOG`: the listen socket's queue of connections not yet accepted.
    pub listen_backlog: u32,
    /// `TRUSTED_PROXIES`: addresses whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// `METRICS_ADDR`: where `GET /metrics` listens (`None`, the default: nowhere).
    pub metrics_addr: Option<SocketAddr>,
    /// `DOCS`: serve `GET /docs` (default: on in development, off with `APP_ENV=production`).
    pub docs: bool,
    /// `DEMO`: serve the demo page at `GET /demo` (default: on in development, off with
    /// `APP_ENV=production`).
    pub demo: bool,
    /// `BENCH_ROUTES`: mount the `/bench/*` routes used by the load script.
    pub bench_routes: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind_addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            workers: 0,
            body_read_timeout: Duration::from_secs(5),
            max_connections_per_address: 256,
            listen_backlog: 1024,
            trusted_proxies: Vec::new(),
            metrics_addr: None,
            docs: true,
            demo: true,
            bench_routes: false,
        }
    }
}

impl ServerSettings {
    /// Reads the section; `DOCS` and `DEMO` default to off with `APP_ENV=production`.
    pub fn read(env: &Env<'_>, environment: Environment) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            bind_addr: env.parse(
                "BIND_ADDR",
                default.bind_addr,
                "host:port, e.g. 127.0.0.1:3000",
            )?,
            workers: env.parse(
                "WORKERS",
                default.workers,
                "a number of worker threads (0: one per core)",
            )?,
            body_read_timeout: env
                .seconds("BODY_READ_TIMEOUT_SECONDS", default.body_read_timeout)?,
            max_connections_per_address: env.positive(
                "MAX_CONNECTIONS_PER_ADDRESS",
                default.max_connections_per_address,
            )?,
            listen_backlog: env.positive("LISTEN_BACKLOG", default.listen_backlog)?,
            trusted_proxies: env
                .list("TRUSTED_PROXIES")
                .iter()
                .map(|entry| parse_net(entry))
                .collect::<Result<_, _>>()?,
            metrics_addr: match env.get("METRICS_ADDR") {
                None => default.metrics_addr,
                Some(value) => Some(value.parse().map_err(|_| ConfigError::Invalid {
                    name: "METRICS_ADDR",
                    value,
                    expected: "host:port, e.g. 127.0.0.1:9100 (unset: no metrics listener)",
                })?),
            },
            docs: env.parse(
                "DOCS",
                default.docs && environment != Environment::Production,
                "true or false",
            )?,
            demo: env.parse(
                "DEMO",
                default.demo && environment != Environment::Production,
                "true or false",
            )?,
            bench_routes: env.parse("BENCH_ROUTES", default.bench_routes, "true or false")?,
        })
    }
}

impl ServerSettings {
    /// The rules of this section: the bench routes are refused in production.
    pub fn problems(&self, environment: Environment) -> Option<String> {
        (environment == Environment::Production && self.bench_routes).then(|| {
            "BENCH_ROUTES=true is refused with APP_ENV=production (the bench routes skip auth)"
                .to_owned()
        })
    }
}

fn parse_net(entry: &str) -> Result<IpNet, ConfigError> {
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| ConfigError::Invalid {
            name: "TRUSTED_PROXIES",
            value: entry.to_owned(),
            expected: "comma-separated IP addresses or CIDRs, e.g. 10.0.0.0/8,127.0.0.1",
        })
}
