//! Every statement the store runs, written once for both backends (`$N` placeholders, which
//! SQLite accepts too; ids through [`Id`]). What must differ lives in `postgres.rs` and
//! `sqlite.rs`: connecting, the signup insert's deadline, and the order of a rotation's locks.

use std::marker::PhantomData;

use passport_actix::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewSession, Rotated, Rotation, SessionRecord, TokenUse,
};
use sqlx::{
    ColumnIndex, Connection, Decode, Encode, Executor, IntoArguments, Row, Transaction, Type,
};
use uuid::Uuid;

use super::User;
use super::audit::RotationAudit;
use super::id::Id;

/// The number of rows a statement changed (each backend's result type has its own method).
pub(super) trait RowsAffected {
    /// How many rows the statement inserted, updated or deleted.
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// A presented refresh token's live session, with its user.
#[derive(Debug)]
pub(super) struct TokenSession {
    id: Uuid,
    expires_at: i64,
    user: User,
}

/// The statements, for backend `DB` (`sqlx::Postgres` or `sqlx::Sqlite`).
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

fn user<R: Row>(row: &R) -> Result<User, sqlx::Error>
where
    Id: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(User::new(
        row.try_get::<Id, _>("id")?.0,
        row.try_get("email")?,
    ))
}

/// `user` with the `amr` column of `row` (a session's).
pub(super) fn with_amr<R: Row>(mut user: User, row: &R) -> Result<User, sqlx::Error>
where
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let amr: String = row.try_get("amr")?;
    user.amr = passport_actix::mfa::Amr::from_stored(&amr).into_vec();
    Ok(user)
}

/// A session's `amr` as stored: space-separated, `pwd` when none was given.
pub(super) fn stored_amr(amr: &[String]) -> String {
    match amr {
        [] => passport_actix::mfa::Amr::PWD.to_owned(),
        methods => methods.join(" "),
    }
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
    pub(super) async fn ping(conn: &mut DB::Connection) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(conn).await.map(|_| ())
    }

    pub(super) async fn user_by_id(
        conn: &mut DB::Connection,
        id: Uuid,
    ) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query("SELECT id, email FROM users WHERE id = $1")
            .bind(Id(id))
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// Whether a user with this id exists (after a retried insert hit a unique index: was it
    /// our own first attempt that got through?).
    pub(super) async fn user_exists(
        conn: &mut DB::Connection,
        id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
            .bind(Id(id))
            .fetch_optional(conn)
            .await?;
        Ok(row.is_some())
    }

    /// The user with this email (case-insensitive) and their password hash.
    pub(super) async fn credentials_by_email(
        conn: &mut DB::Connection,
        email: &str,
    ) -> Result<Option<(User, String, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, email, password_hash, credentials_version FROM users
             WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(conn)
        .await?;
        row.map(|r| {
            Ok((
                user(&r)?,
                r.try_get("password_hash")?,
                r.try_get("credentials_version")?,
            ))
        })
        .transpose()
    }

    /// A plain insert (PostgreSQL's signup adds a deadline: see `postgres::insert_user`).
    pub(super) async fn insert_user(
        conn: &mut DB::Connection,
        user: &User,
        hash: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)")
            .bind(Id(user.id))
            .bind(user.email.as_str())
            .bind(hash)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// A new password: the hash is replaced and the credentials version bumped.
    pub(super) async fn update_hash(
        conn: &mut DB::Connection,
        id: Uuid,
        hash: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, credentials_version = credentials_version + 1
             WHERE id = $2",
        )
        .bind(hash)
        .bind(Id(id))
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// The rehash at login: a compare-and-swap on the hash that was verified (PostgreSQL
    /// re-checks the condition on the row a concurrent change committed), leaving the
    /// credentials version alone (the password is the same); whether it swapped.
    pub(super) async fn swap_hash(
        conn: &mut DB::Connection,
        id: Uuid,
        verified: &str,
        new: &str,
    ) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(new)
                .bind(Id(id))
                .bind(verified)
                .execute(conn)
                .await?;
        Ok(done.rows() > 0)
    }

    /// Deletes a user; their sessions and refresh tokens go with them (foreign-key cascade).
    pub(super) async fn delete_user(
        conn: &mut DB::Connection,
        id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(Id(id))
            .execute(conn)
            .await?;
        Ok(done.rows() > 0)
    }

    /// Counts one attempt atomically; a window that has run out starts again at 1.
    pub(super) async fn register_attempt(
        conn: &mut DB::Connection,
        key: &str,
        now: i64,
        window: i64,
    ) -> Result<(i64, i64), sqlx::Error> {
        let row = sqlx::query(
            "INSERT INTO login_attempts (account_key, attempts, window_started_at) VALUES ($1, 1, $2)
             ON CONFLICT (account_key) DO UPDATE SET
               attempts = CASE WHEN login_attempts.window_started_at <= $2 - $3 THEN 1
                               ELSE login_attempts.attempts + 1 END,
               window_started_at = CASE WHEN login_attempts.window_started_at <= $2 - $3 THEN $2
                                        ELSE login_attempts.window_started_at END
             RETURNING CAST(attempts AS BIGINT) AS attempts, window_started_at",
        )
        .bind(key)
        .bind(now)
        .bind(window)
        .fetch_one(conn)
        .await?;
        Ok((row.try_get("attempts")?, row.try_get("window_started_at")?))
    }

    pub(super) async fn clear_attempts(
        conn: &mut DB::Connection,
        key: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_attempts WHERE account_key = $1")
            .bind(key)
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub(super) async fn purge_attempts(
        conn: &mut DB::Connection,
        cutoff: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM login_attempts WHERE window_started_at <= $1")
            .bind(cutoff)
            .execute(conn)
            .await?;
        Ok(done.rows())
    }

    /// Inserts a session and its first refresh token; with `version`, only while the user's
    /// credentials version is still that one (PostgreSQL: `FOR SHARE` waits for a password
    /// change in progress and re-checks its committed row; SQLite: the insert takes the write
    /// lock). Whether the session was inserted.
    pub(super) async fn create_session(
        conn: &mut DB::Connection,
        s: &NewSession,
        version: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let (Ok(id), Ok(user_id)) = (Uuid::parse_str(&s.session_id), Uuid::parse_str(&s.user_id))
        else {
            return Err(sqlx::Error::Protocol(
                "session and user ids must be UUIDs".into(),
            ));
        };
        // Both keys are fresh random values (a v4 UUID, a 256-bit token's hash), so a conflict
        // can only be this very insert committed by an earlier attempt whose acknowledgement
        // was lost and which the PostgreSQL path then retried: nothing to do again.
        let mut tx = conn.begin().await?;
        let lock = match DB::NAME {
            "PostgreSQL" => " FOR SHARE",
            _ => "",
        };
        let inserted = sqlx::query(&format!(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, amr)
             SELECT $1, u.id, $3, $4, $6 FROM users u
             WHERE u.id = $2 AND ($5 IS NULL OR u.credentials_version = $5){lock}
             ON CONFLICT (id) DO NOTHING"
        ))
        .bind(Id(id))
        .bind(Id(user_id))
        .bind(s.created_at_ms)
        .bind(s.expires_at_ms)
        .bind(version)
        .bind(stored_amr(&s.amr).as_str())
        .execute(&mut *tx)
        .await?;
        if inserted.rows() == 0 {
            // Changed credentials (or a retried insert that already got in).
            let ours = sqlx::query("SELECT 1 AS one FROM sessions WHERE id = $1")
                .bind(Id(id))
                .fetch_optional(&mut *tx)
                .await?;
            if ours.is_none() {
                return Ok(false);
            }
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(s.refresh_token.as_str())
        .bind(Id(id))
        .bind(s.created_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

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

    /// Marks the presented refresh token used (keeping an earlier use time); returns its use
    /// time, or `None` for an unknown token.
    pub(super) async fn mark_used(
        conn: &mut DB::Connection,
        r: &Rotation,
    ) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(
            "UPDATE refresh_tokens SET used_at = COALESCE(used_at, $2) WHERE token_hash = $1
             RETURNING used_at",
        )
        .bind(r.presented.as_str())
        .bind(r.now_ms)
        .fetch_optional(conn)
        .await?;
        row.map(|r| r.try_get("used_at")).transpose()
    }

    /// The presented token's session if it is live, with its user (SQLite: its write
    /// transaction already excludes every other writer, so a plain read; PostgreSQL runs the
    /// rotation in `passport_rotate_refresh_token`, which locks the session row).
    pub(super) async fn token_session(
        conn: &mut DB::Connection,
        r: &Rotation,
    ) -> Result<Option<TokenSession>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.expires_at, s.amr, u.id, u.email
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
             JOIN users u ON u.id = s.user_id
             WHERE t.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(r.presented.as_str())
        .bind(r.now_ms)
        .fetch_optional(conn)
        .await?;
        row.map(|row| {
            Ok(TokenSession {
                id: row.try_get::<Id, _>("session_id")?.0,
                expires_at: row.try_get("expires_at")?,
                user: with_amr(user(&row)?, &row)?,
            })
        })
        .transpose()
    }

    /// The rest of a rotation, once the token is marked used and its session is known: a
    /// reuse revokes the session; otherwise the replacement is inserted (at most
    /// [`MAX_UNUSED_REFRESH_TOKENS`] unused per session); with `audit`, the event's row goes
    /// in too; then the transaction is committed. (SQLite's; PostgreSQL runs the same steps
    /// in `passport_rotate_refresh_token`.)
    pub(super) async fn finish_rotation(
        mut tx: Transaction<'_, DB>,
        r: &Rotation,
        session: TokenSession,
        used_at: i64,
        audit: Option<&RotationAudit>,
    ) -> Result<Rotated<User>, sqlx::Error> {
        let audit_row = |event, outcome| {
            audit.map(|a| AuditRow {
                occurred_at: r.now_ms,
                event,
                outcome,
                detail: None,
                user_id: Some(session.user.id),
                session_id: Some(session.id),
                client_addr: a.client_addr.as_deref(),
                user_agent: a.user_agent.as_deref(),
            })
        };
        if r.classify(Some(used_at)) == TokenUse::Reuse {
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1")
                .bind(Id(session.id))
                .bind(r.now_ms)
                .execute(&mut *tx)
                .await?;
            if let Some(row) = audit_row("refresh_token_reuse", "revoked") {
                Self::insert_audit_row(&mut *tx, &row).await?;
            }
            tx.commit().await?;
            return Ok(Rotated::ReuseDetected {
                session_id: session.id.to_string(),
            });
        }
        let inserted = sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
             SELECT $1, $2, $3
             WHERE (SELECT count(*) FROM refresh_tokens WHERE session_id = $2 AND used_at IS NULL) < $4
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(r.replacement.as_str())
        .bind(Id(session.id))
        .bind(r.now_ms)
        .bind(MAX_UNUSED_REFRESH_TOKENS)
        .execute(&mut *tx)
        .await?;
        if inserted.rows() == 0 {
            // Either the replacement is already there (this is a retry of a rotation whose
            // commit was not acknowledged) or the session holds too many unused tokens.
            // (A replacement derived from the presented token is there already for every
            // retry inside the grace: the retry gets the same token.)
            let ours = sqlx::query(
                "SELECT 1 AS one FROM refresh_tokens WHERE token_hash = $1 AND session_id = $2",
            )
            .bind(r.replacement.as_str())
            .bind(Id(session.id))
            .fetch_optional(&mut *tx)
            .await?;
            if ours.is_none() {
                return Ok(Rotated::Invalid); // too many retries inside the grace: rolled back
            }
        }
        if let Some(row) = audit_row("token_refresh", "success") {
            Self::insert_audit_row(&mut *tx, &row).await?;
        }
        tx.commit().await?;
        Ok(Rotated::Rotated {
            session: SessionRecord {
                session_id: session.id.to_string(),
                user_id: session.user.id.to_string(),
                expires_at_ms: session.expires_at,
                amr: session.user.amr.clone(),
            },
            user: session.user,
        })
    }

    /// Replaces the password hash and revokes every other session, in one transaction: a
    /// password change either fully happened or not at all.
    pub(super) async fn change_password(
        conn: &mut DB::Connection,
        user_id: Uuid,
        hash: &str,
        keep: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let mut tx = conn.begin().await?;
        Self::update_hash(&mut *tx, user_id, hash).await?;
        let revoked = Self::revoke_user_sessions(&mut *tx, user_id, keep, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    pub(super) async fn revoke_session(
        conn: &mut DB::Connection,
        id: Uuid,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(Id(id))
                .bind(now)
                .execute(conn)
                .await?;
        Ok(done.rows() > 0)
    }

    pub(super) async fn revoke_user_sessions(
        conn: &mut DB::Connection,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        let rows = sqlx::query(
            "UPDATE sessions SET revoked_at = $3
             WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR id <> $2)
             RETURNING id",
        )
        .bind(Id(user_id))
        .bind(keep.map(Id))
        .bind(now)
        .fetch_all(conn)
        .await?;
        rows.iter()
            .map(|r| r.try_get::<Id, _>("id").map(|id| id.0))
            .collect()
    }

    /// The user of a live session, and when the session ends.
    pub(super) async fn live_session(
        conn: &mut DB::Connection,
        id: Uuid,
        now: i64,
    ) -> Result<Option<(User, i64)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email, s.expires_at, s.amr FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(Id(id))
        .bind(now)
        .fetch_optional(conn)
        .await?;
        row.map(|r| Ok((with_amr(user(&r)?, &r)?, r.try_get("expires_at")?)))
            .transpose()
    }

    /// Deletes ended sessions; their refresh tokens, used or not, go with them (cascade). Used
    /// tokens are kept until then: presenting one late is how theft is detected.
    pub(super) async fn purge_sessions(
        conn: &mut DB::Connection,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
                .bind(now)
                .execute(conn)
                .await?;
        Ok(done.rows())
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
        row.as_ref().map(user).transpose()
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
        Self::insert_user(&mut *tx, user, hash).await?;
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
