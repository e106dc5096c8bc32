//! Delivering the outbox: the mailer (SMTP, or the log in development) and the worker.
//!
//! The worker claims due mails with a lease ([`LEASE`]), sends each, and records the result:
//! sent (body erased), or retried with exponential backoff up to `MAIL_RETRY_MAX_SECONDS`.
//! A try the SMTP server refuses (4xx/5xx) counts toward `MAIL_MAX_ATTEMPTS`, after which the
//! mail is given up (recorded with `failed_at` and the last error); a server that cannot be
//! reached counts nothing: the mail waits for it, however long the outage. It wakes at once
//! when this instance queues a mail, and polls every `MAIL_POLL_SECONDS` for mails queued by
//! other instances and for retries that fall due.
//!
//! Exactly once: a claimed mail is leased to one worker; it is marked sent right after the
//! server's final reply. A duplicate happens only if that mark is lost (the instance dies, or
//! the connection drops after the server accepted the message).

use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use passport_actix::clock::now_ms;

use super::Mail;
use super::settings::{MailSettings, SmtpSecurity};
use crate::store::{MailFailure, QueuedMail};

/// How long a claimed mail belongs to the worker that claimed it.
pub const LEASE: Duration = Duration::from_secs(120);

/// Mails claimed at once.
const BATCH: i64 = 16;

/// Why a try failed.
#[derive(Debug)]
pub struct SendError {
    /// The SMTP server answered (a refusal counts toward `MAIL_MAX_ATTEMPTS`); `false` when
    /// it could not be reached at all.
    pub answered: bool,
    /// The mail can never be sent (a recipient that does not parse): give up now.
    pub permanent: bool,
    /// What happened (never the body).
    pub message: String,
}

/// Where mails go.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP server.
    Smtp {
        /// The transport (a new connection per batch of mails).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The sender.
        from: Mailbox,
    },
    /// Development without `SMTP_URL`: each mail is written to the log.
    Log {
        /// The sender.
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Smtp { .. } => f.write_str("Mailer::Smtp"),
            Self::Log { .. } => f.write_str("Mailer::Log"),
        }
    }
}

impl Mailer {
    /// The mailer the settings ask for.
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        let from = settings.from.clone();
        let Some(url) = &settings.smtp_url else {
            if settings.any_feature_on() {
                tracing::warn!(
                    "SMTP_URL is unset: mails (links included) are written to the log instead of \
                     sent (development only; APP_ENV=production refuses this)"
                );
            }
            return Ok(Self::Log { from });
        };
        tracing::info!(smtp = %url.address(), security = ?url.security, "mail goes out by SMTP");
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.clone())
            .port(url.port)
            .timeout(Some(settings.smtp_timeout));
        let tls = || {
            TlsParameters::new(url.host.clone())
                .map_err(|e| anyhow::anyhow!("SMTP_URL: cannot set up TLS: {e}"))
        };
        builder = match url.security {
            SmtpSecurity::Plain => builder.tls(Tls::None),
            SmtpSecurity::StartTls => builder.tls(Tls::Required(tls()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
        };
        if let Some((user, pass)) = url.password() {
            builder = builder.credentials(Credentials::new(user.to_owned(), pass.to_owned()));
        }
        Ok(Self::Smtp {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one mail.
    pub async fn send(&self, mail: &QueuedMail) -> Result<(), SendError> {
        let from = match self {
            Self::Smtp { from, .. } | Self::Log { from } => from.clone(),
        };
        let message = build(from, mail)?;
        match self {
            Self::Log { .. } => {
                tracing::info!(
                    target: "mail",
                    to = %mail.recipient,
                    subject = %mail.subject,
                    "development mail (SMTP_URL is unset: written here instead of sent)\n{}",
                    mail.body
                );
                Ok(())
            }
            Self::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(error) => Err(SendError {
                    answered: error.is_transient() || error.is_permanent(),
                    permanent: false,
                    message: error.to_string(),
                }),
            },
        }
    }
}

/// The message: plain text, 7bit when every line allows it. A recipient with a control
/// character (header injection) never becomes a message.
fn build(from: Mailbox, mail: &QueuedMail) -> Result<Message, SendError> {
    let poison = |message: &str| SendError {
        answered: true,
        permanent: true,
        message: message.to_owned(),
    };
    if mail.recipient.chars().any(char::is_control) || mail.subject.chars().any(char::is_control) {
        return Err(poison("a control character in the recipient or subject"));
    }
    let to =
        Mailbox::from_str(&mail.recipient).map_err(|_| poison("the recipient does not parse"))?;
    let body = seven_bit(&mail.body).unwrap_or_else(|| Body::new(mail.body.clone()));
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| poison(&format!("the message cannot be built: {e}")))
}

/// The body as is, 7bit with CRLF line ends, when it is ASCII text whose lines fit RFC 5322's
/// 998 characters: a link longer than 78 characters stays on one line, never folded by
/// quoted-printable (which would break it for a reader that does not decode).
fn seven_bit(text: &str) -> Option<Body> {
    let fits = text.is_ascii()
        && !text.chars().any(|c| c.is_control() && c != '\n')
        && text.lines().all(|line| line.len() <= 998);
    if !fits {
        return None;
    }
    let crlf = text.replace('\n', "\r\n");
    Some(Body::dangerous_pre_encoded(
        crlf.into_bytes(),
        ContentTransferEncoding::SevenBit,
    ))
}

/// The delivery loop of one instance.
pub struct Worker {
    mail: Mail,
    mailer: Mailer,
    /// The wait before the next try while the SMTP server cannot be reached.
    unreachable_backoff: Duration,
}

impl Worker {
    /// A worker for `mail`'s outbox.
    pub fn new(mail: Mail, mailer: Mailer) -> Self {
        Self {
            mail,
            mailer,
            unreachable_backoff: Duration::from_secs(1),
        }
    }

    /// Runs until the task is aborted.
    pub async fn run(mut self) {
        loop {
            let claimed = match self.mail.store.claim_mails(millis(LEASE), BATCH).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "reading the mail outbox failed");
                    Vec::new()
                }
            };
            let busy = !claimed.is_empty();
            for mail in claimed {
                self.deliver(mail).await;
            }
            self.refresh_depth().await;
            if busy {
                continue;
            }
            let wait = self.wait().await;
            tokio::select! {
                () = self.mail.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Until the next mail falls due, at most `MAIL_POLL_SECONDS`.
    async fn wait(&self) -> Duration {
        let poll = self.mail.settings.poll_interval;
        match self.mail.store.next_mail_due().await {
            Ok(Some(due)) => {
                let ms = (due - now_ms()).clamp(0, millis(poll));
                Duration::from_millis(u64::try_from(ms).unwrap_or(0))
            }
            _ => poll,
        }
    }

    async fn refresh_depth(&self) {
        if let Ok(depth) = self.mail.store.outbox_depth().await {
            self.mail.metrics.depth.set(depth);
        }
    }

    async fn deliver(&mut self, mail: QueuedMail) {
        let metrics = &self.mail.metrics;
        let kind = [mail.kind.as_str()];
        match self.mailer.send(&mail).await {
            Ok(()) => {
                self.unreachable_backoff = Duration::from_secs(1);
                metrics.sent.with_label_values(&kind).inc();
                tracing::info!(mail_id = mail.id, kind = %mail.kind, "mail sent");
                // Until this mark lands, a crash means one duplicate (the lease runs out).
                for _ in 0..3 {
                    match self.mail.store.mail_sent(mail.id).await {
                        Ok(()) => return,
                        Err(error) => {
                            tracing::warn!(%error, mail_id = mail.id, "recording a sent mail failed; retrying");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }
            Err(error) => {
                metrics.failures.with_label_values(&kind).inc();
                let settings = &self.mail.settings;
                let counted = i64::from(error.answered);
                let tries = mail.attempts + counted;
                let give_up = error.permanent
                    || (error.answered && tries >= i64::from(settings.max_attempts));
                let backoff = if error.answered {
                    self.unreachable_backoff = Duration::from_secs(1);
                    let exponent = u32::try_from(tries.clamp(0, 16)).unwrap_or(16);
                    Duration::from_secs(1u64 << exponent).min(settings.retry_max)
                } else {
                    let wait = self.unreachable_backoff;
                    self.unreachable_backoff = (wait * 2).min(settings.retry_max);
                    wait
                };
                if give_up {
                    metrics.given_up.with_label_values(&kind).inc();
                    tracing::error!(mail_id = mail.id, kind = %mail.kind, tries, error = %error.message, "mail given up");
                } else {
                    tracing::warn!(mail_id = mail.id, kind = %mail.kind, tries, retry_in = ?backoff, error = %error.message, "mail not sent; will retry");
                }
                let now = now_ms();
                let failure = MailFailure {
                    id: mail.id,
                    counted,
                    next_attempt_at: now + millis(backoff),
                    error: &error.message,
                    give_up,
                    now,
                };
                if let Err(error) = self.mail.store.mail_failed(&failure).await {
                    tracing::warn!(%error, mail_id = mail.id, "recording a failed mail failed (the lease will run out)");
                }
            }
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
