//! Mail (contract v3): password reset, magic-link login and verified signups, over SMTP with a
//! transactional outbox.
//!
//! - [`settings`]: `SMTP_URL`, `MAIL_FROM`, `PUBLIC_URL`, lifetimes, `EMAIL_VERIFICATION`.
//! - [`outbox`]: the mailer (SMTP through `lettre` with rustls, or the log in development) and
//!   the worker that delivers queued mails off the request path, with retries.
//! - [`routes`]: `/password/forgot`, `/password/reset`, `/login/email`,
//!   `/login/email/verify`, and with `EMAIL_VERIFICATION=required` the `202` signup,
//!   `/email/verify` and `/email/resend`.
//!
//! The one-time links themselves (tokens, purposes, single use, the magic-link strategy) are
//! the library's: [`passport_actix::link`].

pub mod openapi;
pub mod outbox;
pub mod routes;
pub mod settings;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::clock::now_ms;
use passport_actix::link::{LinkPurpose, LinkToken, MagicLinkStrategy, NewLink, OneTimeLinks};
use passport_actix::{Failure, failure_response};
use prometheus::{IntCounterVec, IntGauge, Opts};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::errors::unexpected;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimit;
use crate::store::{OutgoingMail, Store, User};
pub use settings::{EmailVerification, MailSettings};

/// The kinds of mail (the resend limit and the metrics are per kind).
pub const KINDS: [&str; 4] = [
    "password_reset",
    "magic_login",
    "email_verification",
    "signup_notice",
];

/// The mail metrics, in the server's registry.
#[derive(Clone)]
pub struct MailMetrics {
    /// `passport_mail_queued_total{kind}`.
    pub queued: IntCounterVec,
    /// `passport_mail_sent_total{kind}`.
    pub sent: IntCounterVec,
    /// `passport_mail_failures_total{kind}`: tries that failed (retried or given up).
    pub failures: IntCounterVec,
    /// `passport_mail_given_up_total{kind}`.
    pub given_up: IntCounterVec,
    /// `passport_mail_outbox_depth`: mails waiting (all instances), as last seen by the worker.
    pub depth: IntGauge,
}

impl MailMetrics {
    /// Registers the mail metrics in `metrics`' registry (every kind at zero).
    pub fn register(metrics: &Metrics) -> prometheus::Result<Self> {
        let registry = metrics.registry();
        let counter = |name: &str, help: &str| -> prometheus::Result<IntCounterVec> {
            let counter = IntCounterVec::new(Opts::new(name, help), &["kind"])?;
            registry.register(Box::new(counter.clone()))?;
            for kind in KINDS {
                counter.with_label_values(&[kind]);
            }
            Ok(counter)
        };
        let depth = IntGauge::new(
            "passport_mail_outbox_depth",
            "Mails queued and not yet sent or given up (every instance's)",
        )?;
        registry.register(Box::new(depth.clone()))?;
        Ok(Self {
            queued: counter("passport_mail_queued_total", "Mails queued in the outbox")?,
            sent: counter(
                "passport_mail_sent_total",
                "Mails accepted by the SMTP server",
            )?,
            failures: counter(
                "passport_mail_failures_total",
                "Delivery tries that failed (the mail is retried or given up)",
            )?,
            given_up: counter(
                "passport_mail_given_up_total",
                "Mails given up after MAIL_MAX_ATTEMPTS refusals",
            )?,
            depth,
        })
    }
}

/// What the mail routes and the worker share: settings, store, the wake-up of the worker.
#[derive(Clone)]
pub struct Mail {
    /// The section.
    pub settings: MailSettings,
    store: Store,
    wake: Arc<Notify>,
    /// The metrics.
    pub metrics: MailMetrics,
    magic: Arc<MagicLinkStrategy<Store>>,
    limit: RateLimit,
}

impl Mail {
    /// The mail state over `store`, with its metrics in `metrics`; `limit` is the per-address
    /// rate limit of the mail routes (`RATE_LIMIT_PER_MINUTE`, every email alike).
    pub fn new(
        settings: MailSettings,
        store: Store,
        metrics: &Metrics,
        limit: RateLimit,
    ) -> anyhow::Result<Self> {
        let metrics = MailMetrics::register(metrics)
            .map_err(|e| anyhow::anyhow!("cannot register the mail metrics: {e}"))?;
        let links = OneTimeLinks::new(Arc::new(store.clone()))
            .ttl(LinkPurpose::PasswordReset, settings.password_reset_ttl)
            .ttl(LinkPurpose::MagicLogin, settings.magic_link_ttl)
            .ttl(LinkPurpose::EmailVerification, settings.email_verify_ttl);
        Ok(Self {
            settings,
            store,
            wake: Arc::new(Notify::new()),
            metrics,
            magic: Arc::new(MagicLinkStrategy::new(links)),
            limit,
        })
    }

    /// Periodic upkeep (the server's housekeeping calls it every minute): forgets idle
    /// addresses of the rate limit, deletes mails sent or given up, links ended and resend
    /// records older than a week.
    pub async fn housekeeping(&self) {
        self.limit.forget_idle();
        let cutoff = now_ms().saturating_sub(7 * 86_400_000);
        match self.store.purge_mail(cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "old mails, links and resend records purged"),
            Err(error) => tracing::warn!(%error, "purging old mails failed"),
        }
    }

    /// Wakes this instance's worker (a mail was just queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Counts a queued mail and wakes the worker.
    fn queued(&self, kind: &str) {
        self.metrics.queued.with_label_values(&[kind]).inc();
        self.wake();
    }

    /// Whether every address counts as verified.
    pub fn verification_off(&self) -> bool {
        self.settings.email_verification == EmailVerification::Off
    }

    /// A new link of `purpose` for `user`, and its mail.
    pub fn link_mail(&self, purpose: LinkPurpose, user: &User) -> (NewLink<Uuid>, OutgoingMail) {
        let token = LinkToken::generate();
        let now = now_ms();
        let ttl = match purpose {
            LinkPurpose::PasswordReset => self.settings.password_reset_ttl,
            LinkPurpose::MagicLogin => self.settings.magic_link_ttl,
            LinkPurpose::EmailVerification => self.settings.email_verify_ttl,
        };
        let link = NewLink {
            token_hash: token.hash(),
            purpose,
            user: user.id,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
        };
        let url = purpose.url(&self.settings.public_url, &token);
        let within = describe(ttl);
        let (subject, body) = match purpose {
            LinkPurpose::PasswordReset => (
                "Reset your password",
                format!(
                    "Someone (hopefully you) asked to reset the password of the account\n\
                     for this address. To choose a new password, open this link\n\
                     within {within}:\n\n{url}\n\n\
                     If you did not ask for this, ignore this mail: your password\n\
                     stays as it is.\n"
                ),
            ),
            LinkPurpose::MagicLogin => (
                "Your login link",
                format!(
                    "To log in, open this link within {within}. It works once.\n\n{url}\n\n\
                     If you did not ask for it, ignore this mail.\n"
                ),
            ),
            LinkPurpose::EmailVerification => (
                "Confirm your address",
                format!(
                    "To confirm this address and activate your account, open this link\n\
                     within {within} and enter the password you signed up with:\n\n{url}\n\n\
                     If you did not sign up, ignore this mail.\n"
                ),
            ),
        };
        let mail = OutgoingMail {
            kind: purpose.as_str(),
            recipient: user.email.clone(),
            subject: subject.to_owned(),
            body,
        };
        (link, mail)
    }

    /// The notice to a registered address that someone tried to sign up with it (no link).
    pub fn signup_notice(&self, user: &User) -> OutgoingMail {
        OutgoingMail {
            kind: "signup_notice",
            recipient: user.email.clone(),
            subject: "Someone tried to sign up with your address".to_owned(),
            body: "Someone tried to sign up with this address, which already has an\n\
                   account. If it was you, log in as usual (or ask for a password reset\n\
                   if you forgot your password). If not, you can ignore this mail:\n\
                   nothing has changed.\n"
                .to_owned(),
        }
    }
}

/// `60 minutes`, `15 minutes`, `24 hours`, `30 seconds`.
fn describe(ttl: std::time::Duration) -> String {
    let secs = ttl.as_secs();
    match secs {
        s if s >= 7200 && s % 3600 == 0 => format!("{} hours", s / 3600),
        s if s >= 120 && s % 60 == 0 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// For `POST /login`: with `EMAIL_VERIFICATION=required`, the right password of an address not
/// yet confirmed is `403 email_not_verified` (a wrong one stays the usual `401`).
pub async fn refuse_unverified(req: &HttpRequest, user: &User) -> Option<HttpResponse> {
    let mail = req.app_data::<web::Data<Mail>>()?;
    if mail.verification_off() {
        return None;
    }
    match mail.store.email_verified(user.id).await {
        Ok(true) => None,
        Ok(false) => Some(failure_response(&[Failure::new(
            StatusCode::FORBIDDEN,
            "email_not_verified",
            "Confirm your address first: open the link mailed to you (or ask for a new one)",
        )])),
        Err(error) => Some(unexpected(
            error.into_strategy_error("checking the address"),
        )),
    }
}
