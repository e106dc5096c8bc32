//! The audit trail's rows (what goes in them is [`crate::audit`]'s business).
//!
//! Written straight on the pool, without [`Store`]'s retry: the caller bounds the call with its
//! own, shorter deadline, and a repeated insert would record an event twice.

use super::statements::Sql;
use super::{AuditRow, Database, Store};

impl Store {
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
