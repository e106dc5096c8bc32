//! The audit trail's rows (what goes in them is [`crate::audit`]'s business).
//!
//! Written straight on the pool, without [`Store`]'s retry: the caller bounds the call with its
//! own, shorter deadline, and a repeated insert would record an event twice. The exception is
//! a refresh-token rotation's row ([`RotationAudit`]), written in the rotation's own statement.

use passport_actix::StoreError;
use passport_actix::session::{Rotated, Rotation};
use passport_actix::store::{RecordStatement, RotationRecorder};

use super::statements::Sql;
use super::{AuditRow, Database, Store, User};
use crate::audit::event::{Event, EventOutcome};

/// The audit row of one refresh-token rotation — `token_refresh` `success` when it rotated,
/// `refresh_token_reuse` `revoked` when it revoked the session as stolen, none otherwise —
/// written by [`Store::rotate_refresh_token_recorded`] in the rotation's own statement
/// (PostgreSQL) or transaction (SQLite): the row is never lost and never written without its
/// change, and a rotation whose row cannot be written does not happen — but a reuse still
/// revokes its session (the lost row is then logged as an error). The user and session
/// are the rotation's; the rest is the request's.
#[derive(Debug, Clone)]
pub struct RotationAudit {
    /// When, in milliseconds since the epoch.
    pub occurred_at: i64,
    /// The client address.
    pub client_addr: Option<String>,
    /// The user agent (already cut to its longest kept length).
    pub user_agent: Option<String>,
}

impl RotationRecorder for RotationAudit {
    fn record(&self, statement: &mut RecordStatement<'_>) {
        statement
            .sql(
                "INSERT INTO audit_events
                 (occurred_at, event, outcome, user_id, session_id, client_addr, user_agent)
                 SELECT ",
            )
            .bind(self.occurred_at)
            .sql(", CASE WHEN rotation.outcome = 'rotated' THEN ")
            .bind(Event::Refresh.as_str())
            .sql(" ELSE ")
            .bind(Event::RefreshReuse.as_str())
            .sql(" END, CASE WHEN rotation.outcome = 'rotated' THEN ")
            .bind(EventOutcome::Success.as_str())
            .sql(" ELSE ")
            .bind(EventOutcome::Revoked.as_str())
            .sql(" END, rotation.user_id, rotation.session_id, ")
            .bind(self.client_addr.as_deref())
            .sql(", ")
            .bind(self.user_agent.as_deref())
            .sql(" FROM rotation WHERE rotation.outcome IN ('rotated', 'reuse')");
    }
}

impl Store {
    /// Rotates a refresh token as the store's
    /// [`rotate_refresh_token`](passport_actix::session::SessionStore::rotate_refresh_token)
    /// does, with `audit`'s row written in the rotation's own statement or transaction
    /// ([`passport_actix::store::SqlStore::rotate_refresh_token_recorded`]).
    pub async fn rotate_refresh_token_recorded(
        &self,
        rotation: &Rotation,
        audit: &RotationAudit,
    ) -> Result<Rotated<User>, StoreError> {
        // Through the liveness check: a session revoked for reuse is forgotten at once.
        self.liveness
            .rotate_refresh_token_recorded(rotation, audit)
            .await
    }

    /// Writes one row of `audit_events`.
    pub async fn insert_audit_row(&self, row: &AuditRow<'_>) -> Result<(), sqlx::Error> {
        match self.database() {
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
        match self.database() {
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
