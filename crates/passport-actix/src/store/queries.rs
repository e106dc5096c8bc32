//! Every statement the shipped stores run, written once for both backends (`$N` placeholders,
//! which SQLite accepts too; ids through [`Id`]). What must differ lives in `postgres.rs` and
//! `sqlite.rs`: the signup insert's deadline and the refresh-token rotation (on PostgreSQL one
//! function call, on SQLite a write transaction of the statements here).

use std::marker::PhantomData;

use crate::session::{
    MAX_UNUSED_REFRESH_TOKENS, NewCookieSession, NewSession, Rotated, Rotation, TokenUse,
};
use sqlx::{ColumnIndex, Connection, Decode, Encode, Executor, IntoArguments, Row, Type};
use uuid::Uuid;

use super::User;
use super::id::Id;

/// The number of rows a statement changed (each backend's result type has its own method).
pub trait RowsAffected {
    /// How many rows the statement inserted, updated or deleted.
    fn rows(&self) -> u64;
}

#[cfg(feature = "postgres")]
impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

#[cfg(feature = "sqlite")]
impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

/// Whether a read locks the rows it returns until the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read (SQLite, whose write transaction already excludes every other writer).
    None,
    /// `FOR UPDATE OF s`: the session row (PostgreSQL).
    Session,
}

/// A presented refresh token's live session, with its user.
#[derive(Debug)]
pub struct TokenSession {
    /// The session id.
    pub id: Uuid,
    /// When it ends, in milliseconds since the epoch.
    pub expires_at: i64,
    /// Its user.
    pub user: User,
}

/// The statements, for backend `DB` (`sqlx::Postgres` or `sqlx::Sqlite`).
#[derive(Debug)]
pub struct Sql<DB>(PhantomData<DB>);

/// The [`User`] of a row's `id` and `email` columns.
pub fn user_from_row<R: Row>(row: &R) -> Result<User, sqlx::Error>
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
pub fn with_amr<R: Row>(mut user: User, row: &R) -> Result<User, sqlx::Error>
where
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let amr: String = row.try_get("amr")?;
    user.amr = crate::mfa::Amr::from_stored(&amr).into_vec();
    Ok(user)
}

/// A session's `amr` as stored: space-separated, `pwd` when none was given.
pub fn stored_amr(amr: &[String]) -> String {
    match amr {
        [] => crate::mfa::Amr::PWD.to_owned(),
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
    /// `SELECT 1`.
    pub async fn ping(conn: &mut DB::Connection) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(conn).await.map(|_| ())
    }

    /// The user with this id.
    pub async fn user_by_id(
        conn: &mut DB::Connection,
        id: Uuid,
    ) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query("SELECT id, email FROM users WHERE id = $1")
            .bind(Id(id))
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Whether a user with this id exists (after a retried insert hit a unique index: was it
    /// our own first attempt that got through?).
    pub async fn user_exists(conn: &mut DB::Connection, id: Uuid) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1")
            .bind(Id(id))
            .fetch_optional(conn)
            .await?;
        Ok(row.is_some())
    }

    /// The user with this email (case-insensitive) and their password hash.
    pub async fn credentials_by_email(
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
                user_from_row(&r)?,
                r.try_get("password_hash")?,
                r.try_get("credentials_version")?,
            ))
        })
        .transpose()
    }

    /// A plain insert (PostgreSQL's signup adds a deadline: see `postgres::insert_user`).
    pub async fn insert_user(
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
    pub async fn update_hash(
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
    pub async fn swap_hash(
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
    pub async fn delete_user(conn: &mut DB::Connection, id: Uuid) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(Id(id))
            .execute(conn)
            .await?;
        Ok(done.rows() > 0)
    }

    /// Counts one attempt atomically; a window that has run out starts again at 1.
    pub async fn register_attempt(
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

    /// Forgets an account's failed logins.
    pub async fn clear_attempts(conn: &mut DB::Connection, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_attempts WHERE account_key = $1")
            .bind(key)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Deletes the throttle rows whose window started at or before `cutoff` (seconds).
    pub async fn purge_attempts(
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
    pub async fn create_session(
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

    /// The database's clock, in milliseconds since the epoch: every instance measures the
    /// reuse grace (and session expiry at rotation) on this one clock.
    pub async fn db_now_ms(conn: &mut DB::Connection) -> Result<i64, sqlx::Error> {
        let sql = match DB::NAME {
            "PostgreSQL" => {
                "SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT) AS now"
            }
            _ => "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS now",
        };
        sqlx::query(sql).fetch_one(conn).await?.try_get("now")
    }

    /// Marks the presented refresh token used (keeping an earlier use time); returns its use
    /// time, or `None` for an unknown token.
    pub async fn mark_used(
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

    /// The presented token's session if it is live, with its user.
    pub async fn token_session(
        conn: &mut DB::Connection,
        r: &Rotation,
        lock: Lock,
    ) -> Result<Option<TokenSession>, sqlx::Error> {
        macro_rules! select {
            () => {
                "SELECT s.id AS session_id, s.expires_at, s.amr, u.id, u.email
                 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
                 JOIN users u ON u.id = s.user_id
                 WHERE t.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2"
            };
        }
        let sql = match lock {
            Lock::None => select!(),
            Lock::Session => concat!(select!(), " FOR UPDATE OF s"),
        };
        let row = sqlx::query(sql)
            .bind(r.presented.as_str())
            .bind(r.now_ms)
            .fetch_optional(conn)
            .await?;
        row.map(|row| {
            Ok(TokenSession {
                id: row.try_get::<Id, _>("session_id")?.0,
                expires_at: row.try_get("expires_at")?,
                user: with_amr(user_from_row(&row)?, &row)?,
            })
        })
        .transpose()
    }

    /// When the presented refresh token was first used: `None` for an unknown token,
    /// `Some(None)` for one never used.
    pub async fn token_used_at(
        conn: &mut DB::Connection,
        r: &Rotation,
    ) -> Result<Option<Option<i64>>, sqlx::Error> {
        let row = sqlx::query("SELECT used_at FROM refresh_tokens WHERE token_hash = $1")
            .bind(r.presented.as_str())
            .fetch_optional(conn)
            .await?;
        row.map(|r| r.try_get("used_at")).transpose()
    }

    /// A rotation's reuse check alone, inside the caller's transaction (the recorded rotation
    /// failed, so its row could not be written): the session is revoked if the presented token
    /// was used longer ago than the grace (`ReuseDetected`); an unknown or ended token is
    /// `Unknown`; anything else (a rotation, the cap) changes nothing and is `None`.
    pub async fn revoke_if_reused(
        conn: &mut DB::Connection,
        r: &Rotation,
        lock: Lock,
    ) -> Result<Option<Rotated<User>>, sqlx::Error> {
        let Some(session) = Self::token_session(&mut *conn, r, lock).await? else {
            return Ok(Some(Rotated::Unknown)); // unknown token, or its session ended
        };
        let Some(used_at) = Self::token_used_at(&mut *conn, r).await? else {
            return Ok(Some(Rotated::Unknown));
        };
        if r.classify(used_at) != TokenUse::Reuse {
            return Ok(None); // a rotation (or the cap): not without its row
        }
        Self::revoke_session(&mut *conn, session.id, r.now_ms).await?;
        let session_id = session.id.to_string();
        Ok(Some(Rotated::ReuseDetected { session_id }))
    }

    /// Inserts the replacement into `session` while it holds fewer than
    /// [`MAX_UNUSED_REFRESH_TOKENS`] unused tokens besides the presented one; whether the
    /// replacement is now there. It may be there already: a retry of this rotation (inside the
    /// grace, a replacement derived from the presented token is the same every time). `false`:
    /// the cap is reached, nothing was written.
    pub async fn insert_replacement(
        conn: &mut DB::Connection,
        r: &Rotation,
        session: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, created_at)
             SELECT $1, $2, $3
             WHERE (SELECT count(*) FROM refresh_tokens
                    WHERE session_id = $2 AND used_at IS NULL AND token_hash <> $5) < $4
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(r.replacement.as_str())
        .bind(Id(session))
        .bind(r.now_ms)
        .bind(MAX_UNUSED_REFRESH_TOKENS)
        .bind(r.presented.as_str())
        .execute(&mut *conn)
        .await?;
        if inserted.rows() > 0 {
            return Ok(true);
        }
        let ours = sqlx::query(
            "SELECT 1 AS one FROM refresh_tokens WHERE token_hash = $1 AND session_id = $2",
        )
        .bind(r.replacement.as_str())
        .bind(Id(session))
        .fetch_optional(conn)
        .await?;
        Ok(ours.is_some())
    }

    /// Replaces the password hash and revokes every other session, in one transaction: a
    /// password change either fully happened or not at all.
    pub async fn change_password(
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

    /// Revokes a live session; whether it was live.
    pub async fn revoke_session(
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

    /// Revokes a user's live sessions but `keep`; the revoked ids.
    pub async fn revoke_user_sessions(
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
    pub async fn live_session(
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
        row.map(|r| Ok((with_amr(user_from_row(&r)?, &r)?, r.try_get("expires_at")?)))
            .transpose()
    }

    /// Deletes ended sessions; their refresh tokens, used or not, go with them (cascade). Used
    /// tokens are kept until then: presenting one late is how theft is detected.
    pub async fn purge_sessions(conn: &mut DB::Connection, now: i64) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR revoked_at IS NOT NULL")
                .bind(now)
                .execute(conn)
                .await?;
        Ok(done.rows())
    }

    /// Inserts a session named by a cookie digest (no refresh token). A conflict on the id can
    /// only be this very insert retried after a lost acknowledgement.
    pub async fn create_cookie_session(
        conn: &mut DB::Connection,
        id: Uuid,
        user_id: Uuid,
        s: &NewCookieSession,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, expires_at, cookie_hash, amr)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(Id(id))
        .bind(Id(user_id))
        .bind(s.created_at_ms)
        .bind(s.expires_at_ms)
        .bind(s.cookie.as_str())
        .bind(stored_amr(&s.amr).as_str())
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// The live session named by a cookie digest: its id, its end and its user.
    pub async fn cookie_session(
        conn: &mut DB::Connection,
        digest: &str,
        now: i64,
    ) -> Result<Option<(Uuid, i64, User)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT s.id AS session_id, s.expires_at, s.amr, u.id, u.email
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.cookie_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(conn)
        .await?;
        row.map(|r| {
            Ok((
                r.try_get::<Id, _>("session_id")?.0,
                r.try_get("expires_at")?,
                with_amr(user_from_row(&r)?, &r)?,
            ))
        })
        .transpose()
    }
}
