//! Browser sessions (contract v3): sessions named by the digest of a cookie value, the list of
//! a user's live sessions, ending one of them, and `last_seen_at`.
//!
//! A cookie request costs what a token request costs: the digest → (session, user) mapping
//! never changes once written, so it is kept in an in-process cache, and the session's
//! liveness is then read through [`Store::session_user`] — the same liveness cache, kept
//! coherent by the same `LISTEN`/`NOTIFY` path, as for an access token's `sid`.
//!
//! `last_seen_at` is written off the request path (a spawned task) at most once per
//! [`LAST_SEEN_RESOLUTION`] per session and instance, the first time at the session's first
//! guarded request; so a guarded request adds no database write in the steady state.

use std::time::{Duration, Instant};

use passport_actix::StoreError;
use passport_actix::clock::now_ms;
use passport_actix::session::RefreshTokenHash;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};
use uuid::Uuid;

use super::statements::Sql;
use super::{Store, User};
use passport_actix::store::{Id, RowsAffected};

/// The finest `last_seen_at` is kept at: one write per session per minute at most.
pub const LAST_SEEN_RESOLUTION: Duration = Duration::from_secs(60);

/// One live session of a user, as `GET /user/sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// The session id (the access tokens' `sid`).
    pub id: Uuid,
    /// When it started, in milliseconds since the epoch.
    pub created_at_ms: i64,
    /// When a request last used it (its start, if none has), in milliseconds since the epoch.
    pub last_seen_at_ms: i64,
    /// Whether a cookie names it (else it is a token session).
    pub cookie: bool,
}

impl Store {
    /// The user of the live session whose cookie value has this digest.
    pub async fn cookie_session_user(
        &self,
        digest: &RefreshTokenHash,
    ) -> Result<Option<User>, StoreError> {
        if let Some((session_id, user_id)) = self.cookies.sessions.get(digest.as_str()) {
            return self.session_user(session_id, user_id).await;
        }
        let ticket = self.liveness.cache().ticket();
        let Some((session_id, expires_at, user)) = self.sql.cookie_session(digest.as_str()).await?
        else {
            return Ok(None);
        };
        self.cookies
            .sessions
            .insert(digest.as_str().to_owned(), (session_id, user.id));
        self.liveness.cache().insert(
            ticket,
            &session_id.to_string(),
            &user.id.to_string(),
            (user.clone(), expires_at),
        );
        self.saw(session_id);
        Ok(Some(User {
            session_id: Some(session_id),
            ..user
        }))
    }

    /// Records that a request used `session_id`: at most once per [`LAST_SEEN_RESOLUTION`]
    /// per session on this instance, in a task of its own (never on the request's path; a
    /// failed write is only logged).
    pub(super) fn saw(&self, session_id: Uuid) {
        let fresh = self
            .cookies
            .seen
            .get(&session_id)
            .is_some_and(|at| at.elapsed() < LAST_SEEN_RESOLUTION);
        if fresh {
            return;
        }
        self.cookies.seen.insert(session_id, Instant::now());
        let store = self.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = run!(&store, touch_session(session_id, now_ms())) {
                    tracing::debug!(%error, "recording last_seen_at failed");
                }
            });
        }
    }

    /// The live sessions of `user_id`, newest first.
    pub async fn live_sessions(&self, user_id: Uuid) -> Result<Vec<SessionView>, StoreError> {
        run!(self, live_sessions(user_id, now_ms()))
    }

    /// Revokes `session_id` if it is a live session of `user_id`; `false` otherwise (another
    /// user's session, an ended one, or none).
    pub async fn revoke_own_session(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> Result<bool, StoreError> {
        let revoked = run!(self, revoke_own_session(user_id, session_id, now_ms()));
        // Invalidated even on error: the revocation may have committed before a timeout.
        self.liveness.cache().invalidate(&session_id.to_string());
        revoked
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
    for<'q> String: Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
{
    /// Sets `last_seen_at` (never backwards).
    pub(super) async fn touch_session(
        conn: &mut DB::Connection,
        id: Uuid,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $2
             WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at < $2)",
        )
        .bind(Id(id))
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// The live sessions of a user, newest first.
    pub(super) async fn live_sessions(
        conn: &mut DB::Connection,
        user_id: Uuid,
        now: i64,
    ) -> Result<Vec<SessionView>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, created_at, COALESCE(last_seen_at, created_at) AS last_seen_at,
                    CAST(CASE WHEN cookie_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS cookie
             FROM sessions
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY created_at DESC, id DESC",
        )
        .bind(Id(user_id))
        .bind(now)
        .fetch_all(conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionView {
                    id: r.try_get::<Id, _>("id")?.0,
                    created_at_ms: r.try_get("created_at")?,
                    last_seen_at_ms: r.try_get("last_seen_at")?,
                    cookie: r.try_get::<i64, _>("cookie")? != 0,
                })
            })
            .collect()
    }

    /// Revokes one live session of one user; whether it was.
    pub(super) async fn revoke_own_session(
        conn: &mut DB::Connection,
        user_id: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(Id(id))
        .bind(Id(user_id))
        .bind(now)
        .execute(conn)
        .await?;
        Ok(done.rows() > 0)
    }
}
