//! Prometheus metrics, served as text at `GET /metrics` on a listener of its own
//! (`METRICS_ADDR`, off by default) so they are never public by accident.
//!
//! Each [`Application`](crate::startup::Application) has its own registry (no global state):
//!
//! | metric | labels | what |
//! | --- | --- | --- |
//! | `passport_http_requests_total` | `method`, `route`, `status` | requests answered (`route` is the route pattern, `unmatched` for 404s) |
//! | `passport_http_request_duration_seconds` | `method`, `route`, `status` | latency histogram |
//! | `passport_logins_total` | `outcome` (`success`, `failure`, `throttled`) | password logins |
//! | `passport_signups_total` | | accounts created |
//! | `passport_refreshes_total` | | refresh tokens exchanged |
//! | `passport_refresh_reuse_detections_total` | | used refresh tokens presented again (session revoked) |
//! | `passport_revocations_total` | `cause` | operations that ended sessions (`logout_local`, `logout_global`, `logout_others`, `refresh_reuse`, `password_change`, `account_deletion`, `password_reset`, `session_deletion`) |
//! | `passport_token_verifications_total` | `outcome` (`accepted`, `refused`) | requests to token-guarded routes (`refused`: the guard answered 401, no token included) |
//! | `passport_audit_write_failures_total` | | audit rows that could not be written |
//! | `passport_db_pool_connections` | `state` (`open`, `idle`) | the database pool, read at scrape time |
//! | `passport_session_cache_trusted` | | 1 while the revocation listener hears its heartbeat (PostgreSQL), else 0 |
//! | `passport_hashing_queue_depth` | | password hashes waiting for a hashing thread, read at scrape time |
//! | `passport_hashing_wait_seconds` | | histogram of how long each hash waited for a hashing thread |
//! | `passport_mail_queued_total` | `kind` | mails queued in the outbox (`password_reset`, `magic_login`, `email_verification`, `signup_notice`) |
//! | `passport_mail_sent_total` | `kind` | mails the SMTP server accepted |
//! | `passport_mail_failures_total` | `kind` | delivery tries that failed (retried or given up) |
//! | `passport_mail_given_up_total` | `kind` | mails given up after `MAIL_MAX_ATTEMPTS` refusals |
//! | `passport_mail_outbox_depth` | | mails waiting to be sent (all instances), as the worker last saw it |

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use passport_actix::BlockingPool;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::audit::event::{Entry, Event, EventOutcome};
use crate::store::{Database, Store};

/// The routes behind a token guard, whose answers count as token verifications.
const GUARDED_ROUTES: [&str; 5] = [
    "/logout",
    "/user",
    "/user/profile",
    "/user/password",
    "/bench/guarded",
];

/// The server's metrics; cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    store: Store,
    requests: IntCounterVec,
    latency: HistogramVec,
    logins: IntCounterVec,
    signups: IntCounter,
    refreshes: IntCounter,
    reuse: IntCounter,
    revocations: IntCounterVec,
    verifications: IntCounterVec,
    audit_failures: IntCounter,
    mfa: IntCounterVec,
    pool: IntGaugeVec,
    cache_trusted: IntGauge,
    hashing: BlockingPool,
    hashing_queue: IntGauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn register<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<T>,
) -> prometheus::Result<T> {
    let metric = metric?;
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// A fresh registry with every metric at zero; pool gauges read `store` at scrape time,
    /// and the hashing metrics watch `hashing` (the process's shared hashing pool of the
    /// configured niceness) through the handle [`hashing_pool`](Self::hashing_pool) gives the
    /// password strategies.
    pub fn new(store: Store, hashing: BlockingPool) -> prometheus::Result<Self> {
        let registry = Registry::new();
        let http = ["method", "route", "status"];
        let requests = register(
            &registry,
            IntCounterVec::new(
                Opts::new("passport_http_requests_total", "HTTP requests answered"),
                &http,
            ),
        )?;
        let latency = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "passport_http_request_duration_seconds",
                    "HTTP request latency",
                ),
                &http,
            ),
        )?;
        let logins = register(
            &registry,
            IntCounterVec::new(
                Opts::new("passport_logins_total", "Password logins by outcome"),
                &["outcome"],
            ),
        )?;
        let signups = register(
            &registry,
            IntCounter::new("passport_signups_total", "Accounts created"),
        )?;
        let refreshes = register(
            &registry,
            IntCounter::new("passport_refreshes_total", "Refresh tokens exchanged"),
        )?;
        let reuse = register(
            &registry,
            IntCounter::new(
                "passport_refresh_reuse_detections_total",
                "Used refresh tokens presented again (their session was revoked)",
            ),
        )?;
        let revocations = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "passport_revocations_total",
                    "Operations that ended sessions, by cause",
                ),
                &["cause"],
            ),
        )?;
        let verifications = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "passport_token_verifications_total",
                    "Requests to token-guarded routes by guard outcome",
                ),
                &["outcome"],
            ),
        )?;
        let audit_failures = register(
            &registry,
            IntCounter::new(
                "passport_audit_write_failures_total",
                "Audit rows that could not be written",
            ),
        )?;
        let mfa = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "passport_mfa_events_total",
                    "Second-factor events (enrolment, login second steps, step-up refusals) by outcome",
                ),
                &["event", "outcome"],
            ),
        )?;
        let pool = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "passport_db_pool_connections",
                    "Database pool connections by state",
                ),
                &["state"],
            ),
        )?;
        let cache_trusted = register(
            &registry,
            IntGauge::new(
                "passport_session_cache_trusted",
                "1 while the revocation listener hears its heartbeat, else 0",
            ),
        )?;
        let hashing_queue = register(
            &registry,
            IntGauge::new(
                "passport_hashing_queue_depth",
                "Password hashes waiting for a hashing thread",
            ),
        )?;
        let hashing_wait = register(
            &registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "passport_hashing_wait_seconds",
                    "How long each password hash waited for a hashing thread",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            ),
        )?;
        let hashing =
            hashing.with_wait_observer(move |wait| hashing_wait.observe(wait.as_secs_f64()));
        // Every labelled series exists from the start, so dashboards see zeros, not gaps.
        for outcome in ["success", "failure", "throttled"] {
            logins.with_label_values(&[outcome]);
        }
        for outcome in ["accepted", "refused"] {
            verifications.with_label_values(&[outcome]);
        }
        for cause in [
            "logout_local",
            "logout_global",
            "logout_others",
            "refresh_reuse",
            "password_change",
            "account_deletion",
            "password_reset",
            "session_deletion",
        ] {
            revocations.with_label_values(&[cause]);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                registry,
                store,
                requests,
                latency,
                logins,
                signups,
                refreshes,
                reuse,
                revocations,
                verifications,
                audit_failures,
                mfa,
                pool,
                cache_trusted,
                hashing,
                hashing_queue,
            }),
        })
    }

    /// The hashing pool handle for the password strategies: the process's shared pool, with
    /// each wait recorded in `passport_hashing_wait_seconds`.
    pub fn hashing_pool(&self) -> BlockingPool {
        self.inner.hashing.clone()
    }

    /// Counts an audited event.
    pub fn count(&self, entry: &Entry) {
        let m = &self.inner;
        let success = entry.outcome == EventOutcome::Success;
        match entry.event {
            Event::Signup if success => m.signups.inc(),
            Event::Login => m.logins.with_label_values(&[entry.outcome.as_str()]).inc(),
            Event::Refresh if success => m.refreshes.inc(),
            Event::RefreshReuse => {
                m.reuse.inc();
                m.revocations.with_label_values(&["refresh_reuse"]).inc();
            }
            Event::Logout if success => {
                let cause = match entry.detail {
                    Some("global") => "logout_global",
                    Some("others") => "logout_others",
                    _ => "logout_local",
                };
                m.revocations.with_label_values(&[cause]).inc();
            }
            Event::PasswordChange if success => {
                m.revocations.with_label_values(&["password_change"]).inc()
            }
            Event::AccountDeletion if success => {
                m.revocations.with_label_values(&["account_deletion"]).inc()
            }
            event if event.is_mfa() => {
                m.mfa
                    .with_label_values(&[event.as_str(), entry.outcome.as_str()])
                    .inc();
                if event == Event::MfaEnable && success {
                    m.revocations.with_label_values(&["mfa_enable"]).inc();
                }
            }
            Event::PasswordReset if success => {
                m.revocations.with_label_values(&["password_reset"]).inc()
            }
            Event::SessionDeletion if success => {
                m.revocations.with_label_values(&["session_deletion"]).inc()
            }
            _ => {}
        }
    }

    /// The registry, for parts that register metrics of their own (mail).
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Counts an audit row that could not be written.
    pub fn audit_write_failed(&self) {
        self.inner.audit_failures.inc();
    }

    fn observe(&self, method: &str, route: &str, status: StatusCode, elapsed: Duration) {
        let m = &self.inner;
        let labels = [method, route, status.as_str()];
        m.requests.with_label_values(&labels).inc();
        m.latency
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
        if GUARDED_ROUTES.contains(&route) {
            let outcome = if status == StatusCode::UNAUTHORIZED {
                "refused"
            } else {
                "accepted"
            };
            m.verifications.with_label_values(&[outcome]).inc();
        }
    }

    /// The Prometheus text exposition of every metric (pool gauges read now).
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let m = &self.inner;
        let (open, idle) = match m.store.database() {
            Database::Postgres(pool) => (pool.size(), pool.num_idle()),
            Database::Sqlite(pool) => (pool.size(), pool.num_idle()),
        };
        m.pool.with_label_values(&["open"]).set(i64::from(open));
        m.pool
            .with_label_values(&["idle"])
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
        m.cache_trusted
            .set(i64::from(m.store.liveness().is_trusted()));
        m.hashing_queue
            .set(i64::try_from(m.hashing.queued()).unwrap_or(i64::MAX));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&m.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// Middleware: counts and times every request by method, route pattern and status.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let started = Instant::now();
    // Read before the call: the request must not be shared while inner middleware runs.
    let method = req.method().as_str().to_owned();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &result {
            Ok(res) => res.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        metrics.observe(&method, &route, status, started.elapsed());
    }
    result
}

/// `GET /metrics` on the metrics listener: `200` Prometheus text (version 0.0.4).
pub async fn serve_metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, prometheus::TEXT_FORMAT))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(text),
        Err(error) => {
            tracing::error!(%error, "rendering metrics failed");
            passport_actix::ErrorBody::new("internal_error", "An internal error occurred")
                .response(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
