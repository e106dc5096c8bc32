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
//! The exception is a refresh-token rotation (`token_refresh`, `refresh_token_reuse`): its row
//! is written in the rotation's own transaction ([`RotationAudit`]), so the event is never
//! lost and never recorded without its change (a retried rotation may record it twice), and a
//! rotation whose row cannot be written does not happen.

use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::header::USER_AGENT;
use uuid::Uuid;

use crate::client_ip::ClientIp;
use crate::metrics::Metrics;
use crate::store::{AuditRow, RotationAudit, Store};

/// The longest an audit write may add to a request.
pub const AUDIT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest user agent kept (longer ones are cut, on a character boundary).
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `signup`: an account was created.
    Signup,
    /// `login`: a password login (outcome `success`, `failure` or `throttled`).
    Login,
    /// `token_refresh`: a refresh token was exchanged for a new pair.
    Refresh,
    /// `refresh_token_reuse`: a used refresh token came back; its session was revoked.
    RefreshReuse,
    /// `logout`: sessions were ended (the detail is the scope).
    Logout,
    /// `password_change`: the password was changed (or the re-authentication failed).
    PasswordChange,
    /// `account_deletion`: the account was deleted (or the re-authentication failed).
    AccountDeletion,
    /// `mfa_enroll`: a TOTP secret was issued, pending confirmation (or the password failed).
    MfaEnroll,
    /// `mfa_enable`: TOTP was confirmed (the other sessions ended), or a wrong code.
    MfaEnable,
    /// `mfa_disable`: TOTP was removed, or a wrong code.
    MfaDisable,
    /// `mfa_challenge`: a right first factor of a TOTP user; an `mfa_token` was issued.
    MfaChallenge,
    /// `mfa_login`: the second step of a login (`success`, `failure`, `throttled`).
    MfaLogin,
    /// `step_up_required`: a sensitive route refused a session without `otp` (RFC 9470).
    StepUp,
    /// `password_reset`: a password was set with a reset link (or the link was refused).
    PasswordReset,
    /// `magic_link_login`: a login with a magic link (or the link was refused).
    MagicLinkLogin,
    /// `email_verification`: an address was confirmed (or the link or password refused).
    EmailVerification,
    /// `session_deletion`: one session was ended from the sessions list
    /// (`DELETE /user/sessions/{id}`).
    SessionDeletion,
}

impl Event {
    /// The name stored in `audit_events.event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Login => "login",
            Self::Refresh => "token_refresh",
            Self::RefreshReuse => "refresh_token_reuse",
            Self::Logout => "logout",
            Self::PasswordChange => "password_change",
            Self::AccountDeletion => "account_deletion",
            Self::MfaEnroll => "mfa_enroll",
            Self::MfaEnable => "mfa_enable",
            Self::MfaDisable => "mfa_disable",
            Self::MfaChallenge => "mfa_challenge",
            Self::MfaLogin => "mfa_login",
            Self::StepUp => "step_up_required",
            Self::PasswordReset => "password_reset",
            Self::MagicLinkLogin => "magic_link_login",
            Self::EmailVerification => "email_verification",
            Self::SessionDeletion => "session_deletion",
        }
    }

    /// Whether this is a second-factor event (counted in `passport_mfa_events_total`).
    pub fn is_mfa(self) -> bool {
        matches!(
            self,
            Self::MfaEnroll
                | Self::MfaEnable
                | Self::MfaDisable
                | Self::MfaChallenge
                | Self::MfaLogin
                | Self::StepUp
        )
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The operation succeeded.
    Success,
    /// Wrong credentials.
    Failure,
    /// Refused by the account's login throttle.
    Throttled,
    /// A session was revoked as stolen.
    Revoked,
}

impl Outcome {
    /// The name stored in `audit_events.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Throttled => "throttled",
            Self::Revoked => "revoked",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// What happened.
    pub event: Event,
    /// How it ended.
    pub outcome: Outcome,
    /// A short, non-secret detail (the logout scope, a failure code).
    pub detail: Option<&'static str>,
    /// The user, when known. For a reuse detection it is read from the session.
    pub user_id: Option<Uuid>,
    /// The session, when known.
    pub session_id: Option<Uuid>,
}

impl Entry {
    /// An entry with no detail, user or session yet.
    pub fn new(event: Event, outcome: Outcome) -> Self {
        Self {
            event,
            outcome,
            detail: None,
            user_id: None,
            session_id: None,
        }
    }

    /// With this user.
    pub fn user(mut self, id: Uuid) -> Self {
        self.user_id = Some(id);
        self
    }

    /// With this session (ignored if `id` is not a UUID).
    pub fn session(mut self, id: Option<&str>) -> Self {
        self.session_id = id.and_then(|id| Uuid::parse_str(id).ok());
        self
    }

    /// With this detail.
    pub fn detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }
}

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
            occurred_at: passport_actix::session::now_ms(),
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

    /// Records `entry`, whose row the store already wrote in the transaction of the change
    /// it describes (see [`RotationAudit`]): the log line and the metrics only.
    pub fn record_written(&self, req: &HttpRequest, entry: Entry) {
        self.note(req, &entry);
    }

    /// The audit context of a refresh-token rotation for `req`: run the rotation within
    /// [`Store::with_rotation_audit`] and the store writes its row in the rotation's own
    /// transaction (then [`record_written`](Self::record_written) its entry).
    pub fn rotation_context(&self, req: &HttpRequest) -> RotationAudit {
        let (client_addr, user_agent) = self.client(req);
        RotationAudit::new(client_addr, user_agent)
    }

    /// The client address and the (cut) user agent of `req`.
    fn client(&self, req: &HttpRequest) -> (Option<String>, Option<String>) {
        let client_addr = self.client_ip.client(req).map(|client| client.to_string());
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect::<String>());
        (client_addr, user_agent)
    }

    /// Counts `entry` and writes its log line; the client address and user agent.
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

    /// Deletes rows older than `retention`; returns how many.
    pub async fn purge(&self, retention: Duration) -> Result<u64, sqlx::Error> {
        let cutoff = passport_actix::session::now_ms()
            .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
        self.store.purge_audit_rows(cutoff).await
    }
}
