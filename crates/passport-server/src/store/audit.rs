//! The audit trail's rows (what goes in them is [`crate::audit`]'s business).
//!
//! Written straight on the pool, without [`Store`]'s retry: the caller bounds the call with its
//! own, shorter deadline, and a repeated insert would record an event twice.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{AuditRow, Database, Sql, Store};

/// Who asked for the refresh-token rotation running in this task: with it, the store writes
/// the rotation's audit row (`token_refresh` success, `refresh_token_reuse` revoked) in the
/// rotation's own transaction, so the event can neither be lost nor be written without its
/// change, and a refresh costs no second commit. Set around the call by
/// [`Store::with_rotation_audit`]; [`written`](Self::written) then says whether the row went in
/// (else the caller writes it as any other event).
#[derive(Debug, Clone, Default)]
pub struct RotationAudit {
    /// The client address, as [`crate::client_ip::ClientIp`] sees it.
    pub client_addr: Option<String>,
    /// The user agent, already cut to [`crate::audit::MAX_USER_AGENT_CHARS`].
    pub user_agent: Option<String>,
    written: Arc<AtomicBool>,
}

impl RotationAudit {
    /// The context of a request from `client_addr` with `user_agent`, its row not written yet.
    pub fn new(client_addr: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            client_addr,
            user_agent,
            written: Arc::default(),
        }
    }

    /// Whether the store wrote the rotation's audit row.
    pub fn written(&self) -> bool {
        self.written.load(Ordering::Acquire)
    }

    /// Marks the row written (by the store, once its transaction committed).
    pub(super) fn mark_written(&self) {
        self.written.store(true, Ordering::Release);
    }
}

tokio::task_local! {
    static ROTATION_AUDIT: RotationAudit;
}

/// The audit context of the rotation running in this task, if the caller set one.
pub(super) fn rotation_audit() -> Option<RotationAudit> {
    ROTATION_AUDIT.try_with(RotationAudit::clone).ok()
}

impl Store {
    /// Runs `work` (a call that rotates a refresh token, such as `Sessions::refresh`) with
    /// `audit` as its rotation's audit context (see [`RotationAudit`]).
    pub async fn with_rotation_audit<F: Future>(audit: RotationAudit, work: F) -> F::Output {
        ROTATION_AUDIT.scope(audit, work).await
    }

    /// Writes one row of `audit_events`.
    pub async fn insert_audit_row(&self, row: &AuditRow<'_>) -> Result<(), sqlx::Error> {
        match &self.db {
            Database::Postgres(pool) => {
                let mut pooled_conn = pool.acquire().await?;
                let conn: &mut sqlx::PgConnection = &mut pooled_conn;
                pooled!(
                    self,
                    conn,
                    Sql::<sqlx::Postgres>::insert_audit_row(conn, row)
                )
                .await
            }
            Database::Sqlite(pool) => {
                Sql::<sqlx::Sqlite>::insert_audit_row(&mut *pool.acquire().await?, row).await
            }
        }
    }

    /// Deletes the audit rows written before `cutoff` (milliseconds since the epoch); returns
    /// how many.
    pub async fn purge_audit_rows(&self, cutoff: i64) -> Result<u64, sqlx::Error> {
        match &self.db {
            Database::Postgres(pool) => {
                let mut pooled_conn = pool.acquire().await?;
                let conn: &mut sqlx::PgConnection = &mut pooled_conn;
                pooled!(
                    self,
                    conn,
                    Sql::<sqlx::Postgres>::purge_audit_rows(conn, cutoff)
                )
                .await
            }
            Database::Sqlite(pool) => {
                Sql::<sqlx::Sqlite>::purge_audit_rows(&mut *pool.acquire().await?, cutoff).await
            }
        }
    }
}
