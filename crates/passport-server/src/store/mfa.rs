//! The second factor's rows: TOTP factors, recovery codes and pending logins (`mfa_token`).
//! Every acceptance is one conditional write, so the database decides races: a time step is
//! accepted by `UPDATE … WHERE last_step < $step`, a recovery code by `… WHERE used_at IS
//! NULL`, an `mfa_token` by `… WHERE used_at IS NULL AND failures < 5`.

use passport_actix::StoreError;
use passport_actix::clock::now_ms;
use sqlx::{ColumnIndex, Connection, Decode, Encode, Executor, IntoArguments, Row, Type};
use uuid::Uuid;

use super::statements::Sql;
use super::{Store, User};
use passport_actix::store::{Id, RowsAffected, Sql as Lib};

/// Wrong codes one `mfa_token` takes before it is dead.
pub const MAX_CODE_FAILURES: i64 = 5;

/// A user's TOTP factor as stored.
#[derive(Clone)]
pub struct Factor {
    /// The secret, encrypted (see `crate::mfa::SecretCipher`).
    pub secret: String,
    /// Whether enrolment was confirmed (else it is pending).
    pub confirmed: bool,
    /// The last time step accepted (`-1`: none).
    pub last_step: i64,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("secret", &"[redacted]")
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .finish()
    }
}

/// The proof presented with an `mfa_token`.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A TOTP code that matched this time step (accepted only if later than the last one).
    Step(i64),
    /// The SHA-256 (hex) of a recovery code.
    RecoveryCode(String),
    /// Nothing that can match (a malformed code): counted as a wrong code.
    Nothing,
}

/// What redeeming an `mfa_token` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The login is complete: the token is used up; `amr` is its first factor's.
    Done {
        /// The first factor's methods (`pwd`, `fed`, …).
        amr: String,
    },
    /// The code was wrong (or already used): the token's failures went up by one.
    WrongCode,
    /// The token is unknown, used, expired or has had its 5 wrong codes.
    InvalidGrant,
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
    pub(super) async fn totp_factor(
        conn: &mut DB::Connection,
        user_id: Uuid,
    ) -> Result<Option<Factor>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT secret, confirmed_at, last_step FROM totp_factors WHERE user_id = $1",
        )
        .bind(Id(user_id))
        .fetch_optional(conn)
        .await?;
        row.map(|r| {
            Ok(Factor {
                secret: r.try_get("secret")?,
                confirmed: r.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
                last_step: r.try_get("last_step")?,
            })
        })
        .transpose()
    }

    /// Stores a pending secret (replacing a pending one); `false` if a confirmed factor is
    /// there (nothing changed).
    pub(super) async fn begin_totp(
        conn: &mut DB::Connection,
        user_id: Uuid,
        secret: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE
             SET secret = excluded.secret, created_at = excluded.created_at, last_step = -1
             WHERE totp_factors.confirmed_at IS NULL",
        )
        .bind(Id(user_id))
        .bind(secret)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(done.rows() == 1)
    }

    /// Confirms the pending factor whose secret is still `secret` (at `step`), stores the
    /// recovery codes' hashes and revokes every session but `keep`, in one transaction;
    /// `None` if there was no such pending factor (nothing changed).
    pub(super) async fn confirm_totp(
        conn: &mut DB::Connection,
        user_id: Uuid,
        secret: &str,
        step: i64,
        code_hashes: &[String],
        keep: Option<Uuid>,
        now: i64,
    ) -> Result<Option<Vec<Uuid>>, sqlx::Error> {
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE totp_factors SET confirmed_at = $3, last_step = $4
             WHERE user_id = $1 AND secret = $2 AND confirmed_at IS NULL AND last_step < $4",
        )
        .bind(Id(user_id))
        .bind(secret)
        .bind(now)
        .bind(step)
        .execute(&mut *tx)
        .await?;
        if done.rows() != 1 {
            return Ok(None); // dropped: rolled back
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(Id(user_id))
            .execute(&mut *tx)
            .await?;
        for hash in code_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(Id(user_id))
                .bind(hash.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let revoked = Lib::<DB>::revoke_user_sessions(&mut *tx, user_id, keep, now).await?;
        tx.commit().await?;
        Ok(Some(revoked))
    }

    /// Records `step` as accepted for `user_id`'s confirmed factor; `false` if it (or a later
    /// one) already was.
    pub(super) async fn accept_step(
        conn: &mut DB::Connection,
        user_id: Uuid,
        step: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE totp_factors SET last_step = $2
             WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2",
        )
        .bind(Id(user_id))
        .bind(step)
        .execute(conn)
        .await?;
        Ok(done.rows() == 1)
    }

    /// Spends one unused recovery code; `false` if there is none with this hash.
    pub(super) async fn use_recovery_code(
        conn: &mut DB::Connection,
        user_id: Uuid,
        hash: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(Id(user_id))
        .bind(hash)
        .bind(now)
        .execute(conn)
        .await?;
        Ok(done.rows() == 1)
    }

    /// Removes the factor, its recovery codes and pending logins; `true` if there was one.
    pub(super) async fn delete_totp(
        conn: &mut DB::Connection,
        user_id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = conn.begin().await?;
        let done = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
            .bind(Id(user_id))
            .execute(&mut *tx)
            .await?;
        for table in ["recovery_codes", "mfa_challenges"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(Id(user_id))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows() == 1)
    }

    pub(super) async fn insert_challenge(
        conn: &mut DB::Connection,
        token_hash: &str,
        user_id: Uuid,
        amr: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO mfa_challenges (token_hash, user_id, amr, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(Id(user_id))
        .bind(amr)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The user of a live `mfa_token` (unused, unexpired, fewer than 5 wrong codes).
    pub(super) async fn live_challenge(
        conn: &mut DB::Connection,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<User>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email FROM mfa_challenges c JOIN users u ON u.id = c.user_id
             WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2
               AND c.failures < $3",
        )
        .bind(token_hash)
        .bind(now)
        .bind(MAX_CODE_FAILURES)
        .fetch_optional(conn)
        .await?;
        row.map(|r| passport_actix::store::user_from_row(&r))
            .transpose()
    }

    /// Uses up the `mfa_token` and the proof together, or neither (then a wrong proof counts
    /// one failure on the token).
    pub(super) async fn redeem_challenge(
        conn: &mut DB::Connection,
        token_hash: &str,
        user_id: Uuid,
        proof: &Proof,
        now: i64,
    ) -> Result<Redeemed, sqlx::Error> {
        let mut tx = conn.begin().await?;
        // The write first: SQLite takes its write lock here, PostgreSQL locks the row, so
        // two redemptions of one token run one after the other.
        let row = sqlx::query(
            "UPDATE mfa_challenges SET used_at = $2
             WHERE token_hash = $1 AND user_id = $3 AND used_at IS NULL AND expires_at > $2
               AND failures < $4
             RETURNING amr",
        )
        .bind(token_hash)
        .bind(now)
        .bind(Id(user_id))
        .bind(MAX_CODE_FAILURES)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Redeemed::InvalidGrant);
        };
        let amr: String = row.try_get("amr")?;
        let accepted = match proof {
            Proof::Step(step) => Self::accept_step(&mut *tx, user_id, *step).await?,
            Proof::RecoveryCode(hash) => {
                Self::use_recovery_code(&mut *tx, user_id, hash, now).await?
            }
            Proof::Nothing => false,
        };
        if accepted {
            tx.commit().await?;
            return Ok(Redeemed::Done { amr });
        }
        tx.rollback().await?;
        sqlx::query(
            "UPDATE mfa_challenges SET failures = failures + 1
             WHERE token_hash = $1 AND used_at IS NULL",
        )
        .bind(token_hash)
        .execute(conn)
        .await?;
        Ok(Redeemed::WrongCode)
    }

    /// Kills every pending `mfa_token` of the user (a password reset).
    pub(super) async fn revoke_challenges(
        conn: &mut DB::Connection,
        user_id: Uuid,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE mfa_challenges SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(Id(user_id))
        .bind(now)
        .execute(conn)
        .await?;
        Ok(done.rows())
    }

    /// Deletes `mfa_token`s that expired before `now`.
    pub(super) async fn purge_challenges(
        conn: &mut DB::Connection,
        now: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(conn)
            .await?;
        Ok(done.rows())
    }
}

impl Store {
    /// `user_id`'s TOTP factor, pending or confirmed.
    pub async fn totp_factor(&self, user_id: Uuid) -> Result<Option<Factor>, StoreError> {
        run!(self, totp_factor(user_id))
    }

    /// Whether `user_id` has a confirmed TOTP factor.
    pub async fn has_totp(&self, user_id: Uuid) -> Result<bool, StoreError> {
        Ok(self
            .totp_factor(user_id)
            .await?
            .is_some_and(|f| f.confirmed))
    }

    /// Stores a pending (encrypted) secret; `false` if TOTP is already enabled.
    pub async fn begin_totp(&self, user_id: Uuid, secret: &str) -> Result<bool, StoreError> {
        run!(self, begin_totp(user_id, secret, now_ms()))
    }

    /// Confirms the pending factor (still holding `secret`) at `step`, stores the recovery
    /// codes' hashes and revokes every other session; `None` if nothing was pending.
    pub async fn confirm_totp(
        &self,
        user_id: Uuid,
        secret: &str,
        step: i64,
        code_hashes: &[String],
        keep: Option<Uuid>,
    ) -> Result<Option<Vec<Uuid>>, StoreError> {
        let confirmed = run!(
            self,
            confirm_totp(user_id, secret, step, code_hashes, keep, now_ms())
        );
        self.liveness.cache().invalidate_user(&user_id.to_string());
        confirmed
    }

    /// Records `step` as used for `user_id`; `false` if it (or a later step) already was.
    pub async fn accept_totp_step(&self, user_id: Uuid, step: i64) -> Result<bool, StoreError> {
        run!(self, accept_step(user_id, step))
    }

    /// Spends a recovery code; `false` if unknown or already used.
    pub async fn use_recovery_code(&self, user_id: Uuid, hash: &str) -> Result<bool, StoreError> {
        run!(self, use_recovery_code(user_id, hash, now_ms()))
    }

    /// Removes the factor and its recovery codes; `true` if there was one.
    pub async fn disable_totp(&self, user_id: Uuid) -> Result<bool, StoreError> {
        run!(self, delete_totp(user_id))
    }

    /// Stores a pending login (`mfa_token`'s hash) of `user_id` whose first factor was `amr`.
    pub async fn create_mfa_challenge(
        &self,
        token_hash: &str,
        user_id: Uuid,
        amr: &str,
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        run!(
            self,
            insert_challenge(token_hash, user_id, amr, now, now + ttl_ms)
        )
    }

    /// The user of a live `mfa_token`.
    pub async fn mfa_challenge_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        run!(self, live_challenge(token_hash, now_ms()))
    }

    /// Uses up the `mfa_token` with `proof`, atomically.
    pub async fn redeem_mfa_challenge(
        &self,
        token_hash: &str,
        user_id: Uuid,
        proof: &Proof,
    ) -> Result<Redeemed, StoreError> {
        run!(self, redeem_challenge(token_hash, user_id, proof, now_ms()))
    }

    /// Kills every pending `mfa_token` of `user_id` (for a password reset: contract v3).
    pub async fn revoke_mfa_challenges(&self, user_id: Uuid) -> Result<u64, StoreError> {
        run!(self, revoke_challenges(user_id, now_ms()))
    }

    /// Deletes expired `mfa_token`s; returns how many.
    pub async fn purge_mfa_challenges(&self) -> Result<u64, StoreError> {
        run!(self, purge_challenges(now_ms()))
    }
}
