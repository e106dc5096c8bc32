//! The audit trail: one row in `audit_events` (and one structured log line, target `audit`)
//! per security event.
//!
//! A row holds the time, the event, its outcome, an optional detail (the logout scope, the
//! failure code), the user and session ids when known, the client address (as
//! [`ClientIp`] sees it: `X-Forwarded-For` only from trusted proxies) and the user agent.
//! It never holds a password, token, hash or email.
//!
//! Writing the trail never turns a request's answer into a failure: the row is written
//! within a short deadline and, if the database refuses or is slow, the failure is logged
//! (the log line of the event is written first, whatever happens) and the request goes on.

pub mod event;
pub mod settings;

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::USER_AGENT;

use crate::client_ip::ClientIp;
use crate::metrics::Metrics;
use crate::store::{AuditRow, Store};

pub use event::{Entry, Event, EventOutcome};
pub use settings::AuditSettings;

/// The longest an audit write may add to a request.
pub const AUDIT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest user agent kept (longer ones are cut, on a character boundary).
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Writes audit events to the database and the log.
#[derive(Debug, Clone)]
pub struct Audit {
    store: Store,
    client_ip: ClientIp,
    metrics: Metrics,
}

impl Audit {
    /// An audit trail in `store`'s database, with client addresses found by `client_ip`;
    /// every event is also counted in `metrics`.
    pub fn new(store: Store, client_ip: ClientIp, metrics: Metrics) -> Self {
        Self {
            store,
            client_ip,
            metrics,
        }
    }

    /// Records `entry` for the request `req`: a log line, then a row. Never fails: a row that
    /// cannot be written is logged as a warning.
    pub async fn record(&self, req: &HttpRequest, entry: Entry) {
        self.metrics.count(&entry);
        let client_addr = self.client_ip.client(req).map(|client| client.to_string());
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
        tracing::info!(
            target: "audit",
            event = entry.event.as_str(),
            outcome = entry.outcome.as_str(),
            detail = entry.detail,
            user_id = entry.user_id.map(|id| id.to_string()),
            session_id = entry.session_id.map(|id| id.to_string()),
            client_addr,
            user_agent,
            "audit event"
        );
        let row = AuditRow {
            occurred_at: passport_actix::clock::now_ms(),
            event: entry.event.as_str(),
            outcome: entry.outcome.as_str(),
            detail: entry.detail,
            user_id: entry.user_id,
            session_id: entry.session_id,
            client_addr: client_addr.as_deref(),
            user_agent: user_agent.as_deref(),
        };
        match tokio::time::timeout(AUDIT_WRITE_TIMEOUT, self.store.insert_audit_row(&row)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                self.metrics.audit_write_failed();
                tracing::warn!(%error, event = entry.event.as_str(), "writing an audit row failed")
            }
            Err(_) => {
                self.metrics.audit_write_failed();
                tracing::warn!(
                    event = entry.event.as_str(),
                    "writing an audit row timed out"
                )
            }
        }
    }

    /// Deletes rows older than `retention`; returns how many.
    pub async fn purge(&self, retention: Duration) -> Result<u64, sqlx::Error> {
        let cutoff = passport_actix::clock::now_ms()
            .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        self.store.purge_audit_rows(cutoff).await
    }
}
