//! The server's own statements on its own tables (identities, audit trail, data migrations,
//! shared secrets), written once for both backends like the library's
//! [`passport_actix::store::Sql`], whose building blocks ([`Id`], [`RowsAffected`]) they use.

use std::marker::PhantomData;

use passport_actix::store::{Id, RowsAffected, User};
use sqlx::{ColumnIndex, Connection, Decode, Encode, Executor, IntoArguments, Row, Type};
use uuid::Uuid;

/// The server's statements, for backend `DB` (`sqlx::Postgres` or `sqlx::Sqlite`).
pub(super) struct Sql<DB>(PhantomData<DB>);

/// One row of the audit trail (see [`crate::audit`]).
#[derive(Debug)]
pub struct AuditRow<'a> {
    /// When, in milliseconds since the epoch.
    pub occurred_at: i64,
    /// The event's name.
    pub event: &'a str,
    /// Its outcome's name.
    pub outcome: &'a str,
    /// A short, non-secret detail.
    pub detail: Option<&'a str>,
    /// The user (else read from the session, when there is one).
    pub user_id: Option<Uuid>,
    /// The session.
    pub session_id: Option<Uuid>,
    /// The client address.
    pub client_addr: Option<&'a str>,
    /// The user agent.
    pub user_agent: Option<&'a str>,
}

impl<DB> Sql<DB>
where
    DB: sqlx::Database,
    DB::QueryResult: RowsAffected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> Id: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Id>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    /// The shared secret `name`: `candidate` (hex) is stored if there is none yet, and the
    /// stored one is returned (the first instance to start decides).
    pub(super) async fn server_secret(
        conn: &mut DB::Connection,
        name: &str,
        candidate: &str,
    ) -> Result<String, sqlx::Error> {
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO server_secrets (name, secret) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT secret FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        row.try_get("secret")
    }

    /// The user linked to (`issuer`, `subject`), if any.
    pub(super) async fn identity_user(
        conn: &mut DB::Connection,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email FROM identities i JOIN users u ON u.id = i.user_id
             WHERE i.issuer = $1 AND i.subject = $2",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(conn)
        .await?;
        row.as_ref()
            .map(passport_actix::store::user_from_row)
            .transpose()
    }

    /// Inserts `user` (with `hash`) and links it to (`issuer`, `subject`), in one transaction:
    /// both rows or neither.
    pub(super) async fn insert_identity_user(
        conn: &mut DB::Connection,
        user: &User,
        hash: &str,
        issuer: &str,
        subject: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = conn.begin().await?;
        passport_actix::store::Sql::<DB>::insert_user(&mut *tx, user, hash).await?;
        sqlx::query("INSERT INTO identities (issuer, subject, user_id) VALUES ($1, $2, $3)")
            .bind(issuer)
            .bind(subject)
            .bind(Id(user.id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Whether the data migration `name` has run.
    pub(super) async fn data_migration_done(
        conn: &mut DB::Connection,
        name: &str,
    ) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT name FROM data_migrations WHERE name = $1")
            .bind(name)
            .fetch_optional(conn)
            .await?;
        Ok(row.is_some())
    }

    /// Records that the data migration `name` has run.
    pub(super) async fn mark_data_migration(
        conn: &mut DB::Connection,
        name: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO data_migrations (name) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(name)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Users whose email may change under today's normalization: those with non-ASCII
    /// characters (more bytes than characters) or quotes. (`octet_length` is PostgreSQL's and
    /// SQLite's since 3.43; sqlx bundles SQLite 3.46.)
    pub(super) async fn emails_to_renormalize(
        conn: &mut DB::Connection,
    ) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, email FROM users
             WHERE octet_length(email) <> length(email) OR email LIKE '%\"%'",
        )
        .fetch_all(conn)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<Id, _>("id")?.0, r.try_get("email")?)))
            .collect()
    }

    pub(super) async fn update_email(
        conn: &mut DB::Connection,
        id: Uuid,
        email: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(email)
            .bind(Id(id))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Writes one audit row; the user of a session-only entry (a reuse detection) is read
    /// from the session.
    pub(super) async fn insert_audit_row(
        conn: &mut DB::Connection,
        row: &AuditRow<'_>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_events
             (occurred_at, event, outcome, detail, user_id, session_id, client_addr, user_agent)
             VALUES ($1, $2, $3, $4,
                     COALESCE($5, (SELECT user_id FROM sessions WHERE id = $6)),
                     $6, $7, $8)",
        )
        .bind(row.occurred_at)
        .bind(row.event)
        .bind(row.outcome)
        .bind(row.detail)
        .bind(row.user_id.map(Id))
        .bind(row.session_id.map(Id))
        .bind(row.client_addr)
        .bind(row.user_agent)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Deletes audit rows older than `cutoff` (milliseconds since the epoch).
    pub(super) async fn purge_audit_rows(
        conn: &mut DB::Connection,
        cutoff: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM audit_events WHERE occurred_at < $1")
            .bind(cutoff)
            .execute(conn)
            .await?;
        Ok(done.rows())
    }
}
