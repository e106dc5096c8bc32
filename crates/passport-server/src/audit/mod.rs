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
//! The exception is a refresh-token rotation (`token_refresh` success, `refresh_token_reuse`
//! revoked): its row is written in the rotation's own statement or transaction
//! ([`RotationAudit`]), so the event is never lost and never recorded without its change, and
//! a rotation whose row cannot be written does not happen (a rotation retried after a lost
//! connection may record it twice).

pub mod event;
pub mod settings;

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::USER_AGENT;

use crate::client_ip::ClientIp;
use crate::metrics::Metrics;
use crate::store::{AuditRow, RotationAudit, Store};

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
        let (client_addr, user_agent) = self.note(req, &entry);
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

    /// The audit row of the refresh-token rotation `req` asks for, which the store writes in
    /// the rotation's own statement or transaction
    /// ([`Store::rotate_refresh_token_recorded`]); then [`recorded`](Self::recorded) the
    /// entry it describes.
    pub fn rotation_audit(&self, req: &HttpRequest) -> RotationAudit {
        let (client_addr, user_agent) = self.client(req);
        RotationAudit {
            occurred_at: passport_actix::clock::now_ms(),
            client_addr,
            user_agent,
        }
    }

    /// Records `entry`, whose row the store already wrote with the change it describes (see
    /// [`rotation_audit`](Self::rotation_audit)): the metrics and the log line only.
    pub fn recorded(&self, req: &HttpRequest, entry: &Entry) {
        self.note(req, entry);
    }

    /// Counts `entry` and writes its log line; the request's client address and user agent.
    fn note(&self, req: &HttpRequest, entry: &Entry) -> (Option<String>, Option<String>) {
        self.metrics.count(entry);
        let (client_addr, user_agent) = self.client(req);
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
        (client_addr, user_agent)
    }

    /// The client address of `req` (as [`ClientIp`] sees it) and its user agent, cut to
    /// [`MAX_USER_AGENT_CHARS`].
    fn client(&self, req: &HttpRequest) -> (Option<String>, Option<String>) {
        let client_addr = self.client_ip.client(req).map(|client| client.to_string());
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
        (client_addr, user_agent)
    }

    /// Deletes rows older than `retention`; returns how many.
    pub async fn purge(&self, retention: Duration) -> Result<u64, sqlx::Error> {
        let cutoff = passport_actix::clock::now_ms()
            .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        self.store.purge_audit_rows(cutoff).await
    }
}
