//! The store's part of mail (contract v3): one-time links, unverified accounts, the
//! transactional outbox and the per-address resend limit, on both backends.
//!
//! Every change that asks for a mail writes the mail in the same transaction
//! ([`Store::request_link`], [`Store::signup_pending`]); the worker of [`crate::mail`] claims
//! due mails with a lease ([`Store::claim_mails`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL, one
//! atomic `UPDATE` under SQLite's single writer), so several instances send each mail once.

use passport_actix::StoreError;
use passport_actix::clock::now_ms;
use passport_actix::link::{LinkPurpose, LinkStore, LinkTokenHash, NewLink};
use sqlx::{
    ColumnIndex, Connection, Decode, Encode, Executor, IntoArguments, Row, Transaction, Type,
};
use uuid::Uuid;

use super::statements::Sql;
use super::{Store, User, account_key};
use passport_actix::store::{Id, RowsAffected, Sql as Lib};

/// Statements run, with the user id as `$1`, in the transaction of a password reset after
/// every session is revoked: the extension point for whatever else a reset must end (a
/// second-factor feature appends the deletion of its pending login tokens here).
pub const REVOKED_ON_PASSWORD_RESET: &[&str] = &[
    // Every pending `mfa_token` (a first factor proven with the old password) is used up.
    "DELETE FROM mfa_challenges WHERE user_id = $1",
];

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// What it is (`password_reset`, `magic_login`, `email_verification`, `signup_notice`).
    pub kind: &'static str,
    /// The recipient's address (checked: no CR, LF or other control character).
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body (it may hold a link: erased once sent).
    pub body: String,
}

/// A queued mail claimed by a worker.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    /// The outbox row.
    pub id: i64,
    /// Its kind.
    pub kind: String,
    /// The recipient.
    pub recipient: String,
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
    /// Tries the SMTP server answered so far.
    pub attempts: i64,
}

/// What a link request did (the client's answer is the same whatever it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRequest {
    /// A link was made and its mail queued.
    Queued,
    /// A mail of this kind went to this address less than `MAIL_RESEND_SECONDS` ago.
    Suppressed,
    /// No account this request applies to: nothing was written but the resend limit.
    NotApplicable,
}

/// What a signup with `EMAIL_VERIFICATION=required` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingSignup {
    /// A new, unverified account and a verification mail.
    Created(Uuid),
    /// The address was still unverified: its pending password replaced, earlier links
    /// revoked and a new one mailed.
    Replaced(Uuid),
    /// The address is registered and verified: a notice (no link) was queued.
    Noticed(Uuid),
    /// The resend limit held the mail back: nothing changed.
    Suppressed,
}

/// Which accounts a link request applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligible {
    /// Any account (password reset: verified or not, with or without a password).
    Any,
    /// Verified accounts (magic login).
    Verified,
    /// Unverified accounts (a verification link sent again).
    Unverified,
}

/// An account as the mail routes see it.
#[derive(Debug)]
pub(super) struct Account {
    user: User,
    unverified: bool,
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
    /// A transaction that holds the write lock from its first statement on SQLite
    /// (`BEGIN IMMEDIATE`: never a read lock upgraded mid-way), a plain one on PostgreSQL.
    async fn begin_write(conn: &mut DB::Connection) -> Result<Transaction<'_, DB>, sqlx::Error> {
        if DB::NAME == "SQLite" {
            conn.begin_with("BEGIN IMMEDIATE").await
        } else {
            conn.begin().await
        }
    }

    /// Records a mail of `kind` to `key` unless one was recorded less than `interval` ms
    /// ago: `true` if this one may go. An interval of 0 is no limit (nothing is recorded:
    /// concurrent requests, whose clocks may be a millisecond apart, all go).
    async fn throttle_mail(
        conn: &mut DB::Connection,
        key: &str,
        kind: &str,
        now: i64,
        interval: i64,
    ) -> Result<bool, sqlx::Error> {
        if interval <= 0 {
            return Ok(true);
        }
        let row = sqlx::query(
            "INSERT INTO mail_throttle (address_key, kind, last_sent_at) VALUES ($1, $2, $3)
             ON CONFLICT (address_key, kind) DO UPDATE SET last_sent_at = $3
             WHERE mail_throttle.last_sent_at <= $3 - $4
             RETURNING last_sent_at",
        )
        .bind(key)
        .bind(kind)
        .bind(now)
        .bind(interval)
        .fetch_optional(conn)
        .await?;
        Ok(row.is_some())
    }

    async fn account(
        conn: &mut DB::Connection,
        email: &str,
    ) -> Result<Option<Account>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, email, unverified_since FROM users WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(conn)
        .await?;
        row.map(|r| {
            Ok(Account {
                user: passport_actix::store::user_from_row(&r)?,
                unverified: r.try_get::<Option<i64>, _>("unverified_since")?.is_some(),
            })
        })
        .transpose()
    }

    /// Revokes the user's unused links of `purpose` (all purposes when `None`).
    async fn revoke_links(
        conn: &mut DB::Connection,
        user_id: Uuid,
        purpose: Option<&str>,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE one_time_links SET revoked_at = $3
             WHERE user_id = $1 AND ($2 IS NULL OR purpose = $2)
               AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(Id(user_id))
        .bind(purpose)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    }

    async fn insert_link(
        conn: &mut DB::Connection,
        link: &NewLink<Uuid>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO one_time_links (token_hash, purpose, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(link.token_hash.as_str())
        .bind(link.purpose.as_str())
        .bind(Id(link.user))
        .bind(link.created_at_ms)
        .bind(link.expires_at_ms)
        .execute(conn)
        .await
        .map(|_| ())
    }

    async fn insert_mail(
        conn: &mut DB::Connection,
        mail: &OutgoingMail,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO mail_outbox (kind, recipient, subject, body, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(mail.kind)
        .bind(mail.recipient.as_str())
        .bind(mail.subject.as_str())
        .bind(mail.body.as_str())
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Saves a link (superseding the older ones) outside any mail (the [`LinkStore`] path).
    pub(super) async fn save_link(
        conn: &mut DB::Connection,
        link: &NewLink<Uuid>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = Self::begin_write(conn).await?;
        Self::revoke_links(
            &mut *tx,
            link.user,
            Some(link.purpose.as_str()),
            link.created_at_ms,
        )
        .await?;
        Self::insert_link(&mut *tx, link).await?;
        tx.commit().await
    }

    /// The resend limit, then (for an eligible account) a new link of `purpose` superseding
    /// the older ones and its mail, in one transaction. `compose` writes the mail for the
    /// account's address and the link's token.
    pub(super) async fn request_link(
        conn: &mut DB::Connection,
        email: &str,
        link: &LinkRequestPlan<'_>,
        now: i64,
    ) -> Result<LinkRequest, sqlx::Error> {
        let mut tx = Self::begin_write(conn).await?;
        let key = account_key(email);
        if !Self::throttle_mail(&mut *tx, &key, link.kind, now, link.interval_ms).await? {
            tx.commit().await?;
            return Ok(LinkRequest::Suppressed);
        }
        let account = Self::account(&mut *tx, email).await?;
        let Some(account) = account.filter(|a| match link.eligible {
            Eligible::Any => true,
            Eligible::Verified => !a.unverified,
            Eligible::Unverified => a.unverified,
        }) else {
            tx.commit().await?;
            return Ok(LinkRequest::NotApplicable);
        };
        let (new_link, mail) = (link.compose)(&account.user);
        Self::revoke_links(
            &mut *tx,
            account.user.id,
            Some(new_link.purpose.as_str()),
            now,
        )
        .await?;
        Self::insert_link(&mut *tx, &new_link).await?;
        Self::insert_mail(&mut *tx, &mail, now).await?;
        tx.commit().await?;
        Ok(LinkRequest::Queued)
    }

    /// A signup with `EMAIL_VERIFICATION=required`, in one transaction (see [`PendingSignup`]).
    pub(super) async fn signup_pending(
        conn: &mut DB::Connection,
        plan: &SignupPlan<'_>,
        now: i64,
    ) -> Result<PendingSignup, sqlx::Error> {
        let mut tx = Self::begin_write(conn).await?;
        let key = account_key(plan.email);
        let account = Self::account(&mut *tx, plan.email).await?;
        let kind = match &account {
            Some(a) if !a.unverified => "signup_notice",
            _ => "email_verification",
        };
        if !Self::throttle_mail(&mut *tx, &key, kind, now, plan.interval_ms).await? {
            tx.commit().await?;
            return Ok(PendingSignup::Suppressed);
        }
        let outcome = match account {
            Some(account) if !account.unverified => {
                Self::insert_mail(&mut *tx, &(plan.notice)(&account.user), now).await?;
                PendingSignup::Noticed(account.user.id)
            }
            Some(account) => {
                Lib::<DB>::update_hash(&mut *tx, account.user.id, plan.password_hash).await?;
                let (link, mail) = (plan.verification)(&account.user);
                Self::revoke_links(&mut *tx, account.user.id, None, now).await?;
                Self::insert_link(&mut *tx, &link).await?;
                Self::insert_mail(&mut *tx, &mail, now).await?;
                PendingSignup::Replaced(account.user.id)
            }
            None => {
                let user = User::new(Uuid::new_v4(), plan.email.to_owned());
                sqlx::query(
                    "INSERT INTO users (id, email, password_hash, unverified_since)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(Id(user.id))
                .bind(user.email.as_str())
                .bind(plan.password_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let (link, mail) = (plan.verification)(&user);
                Self::insert_link(&mut *tx, &link).await?;
                Self::insert_mail(&mut *tx, &mail, now).await?;
                PendingSignup::Created(user.id)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The user of a live link of `purpose`, and their password hash, without using it up.
    pub(super) async fn peek_link(
        conn: &mut DB::Connection,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<(User, String)>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.password_hash FROM one_time_links l
             JOIN users u ON u.id = l.user_id
             WHERE l.token_hash = $1 AND l.purpose = $2 AND l.used_at IS NULL
               AND l.revoked_at IS NULL AND l.expires_at > $3",
        )
        .bind(hash)
        .bind(purpose)
        .bind(now)
        .fetch_optional(conn)
        .await?;
        row.map(|r| {
            Ok((
                passport_actix::store::user_from_row(&r)?,
                r.try_get("password_hash")?,
            ))
        })
        .transpose()
    }

    /// Uses up a live link of `purpose`: its user's id.
    async fn consume_link(
        conn: &mut DB::Connection,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        let row = sqlx::query(
            "UPDATE one_time_links SET used_at = $3
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL
               AND revoked_at IS NULL AND expires_at > $3
             RETURNING user_id",
        )
        .bind(hash)
        .bind(purpose)
        .bind(now)
        .fetch_optional(conn)
        .await?;
        row.map(|r| r.try_get::<Id, _>("user_id").map(|id| id.0))
            .transpose()
    }

    /// Uses up a link of `purpose`: the user (a magic login).
    pub(super) async fn use_link(
        conn: &mut DB::Connection,
        hash: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<User>, sqlx::Error> {
        let mut tx = Self::begin_write(conn).await?;
        let Some(user_id) = Self::consume_link(&mut *tx, hash, purpose, now).await? else {
            return Ok(None);
        };
        let user = Lib::<DB>::user_by_id(&mut *tx, user_id).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Uses up a verification link of `user_id` and marks the address verified.
    pub(super) async fn verify_email(
        conn: &mut DB::Connection,
        hash: &str,
        user_id: Uuid,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = Self::begin_write(conn).await?;
        let used = Self::consume_link(&mut *tx, hash, LinkPurpose::EmailVerification.as_str(), now)
            .await?;
        if used != Some(user_id) {
            return Ok(false);
        }
        sqlx::query("UPDATE users SET unverified_since = NULL WHERE id = $1")
            .bind(Id(user_id))
            .execute(&mut *tx)
            .await?;
        Self::revoke_links(
            &mut *tx,
            user_id,
            Some(LinkPurpose::EmailVerification.as_str()),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A password reset, in one transaction: the link used up, the password set, the
    /// address verified, every session and every other unused link revoked, the login
    /// throttle cleared, and [`REVOKED_ON_PASSWORD_RESET`] run. The user, or `None` when the
    /// link is no longer valid (nothing changed).
    pub(super) async fn reset_password(
        conn: &mut DB::Connection,
        hash: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<(User, Vec<Uuid>)>, sqlx::Error> {
        let mut tx = Self::begin_write(conn).await?;
        let purpose = LinkPurpose::PasswordReset.as_str();
        let Some(user_id) = Self::consume_link(&mut *tx, hash, purpose, now).await? else {
            return Ok(None);
        };
        let Some(user) = Lib::<DB>::user_by_id(&mut *tx, user_id).await? else {
            return Ok(None);
        };
        // The credentials version moves on as with a password change: a login that checked
        // the old password meanwhile gets no session.
        sqlx::query(
            "UPDATE users SET password_hash = $1, unverified_since = NULL,
                              credentials_version = credentials_version + 1
             WHERE id = $2",
        )
        .bind(password_hash)
        .bind(Id(user_id))
        .execute(&mut *tx)
        .await?;
        let revoked = Lib::<DB>::revoke_user_sessions(&mut *tx, user_id, None, now).await?;
        Self::revoke_links(&mut *tx, user_id, None, now).await?;
        Lib::<DB>::clear_attempts(&mut *tx, &account_key(&user.email)).await?;
        for statement in REVOKED_ON_PASSWORD_RESET {
            sqlx::query(statement)
                .bind(Id(user_id))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some((user, revoked)))
    }

    /// Whether the user's address is verified.
    pub(super) async fn email_verified(
        conn: &mut DB::Connection,
        user_id: Uuid,
    ) -> Result<bool, sqlx::Error> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM users WHERE id = $1 AND unverified_since IS NOT NULL",
        )
        .bind(Id(user_id))
        .fetch_optional(conn)
        .await?;
        Ok(row.is_none())
    }

    /// Claims up to `limit` due mails for `lease` ms: on PostgreSQL rows another worker holds
    /// are skipped (`FOR UPDATE SKIP LOCKED`); SQLite's single writer runs the one `UPDATE`
    /// atomically.
    pub(super) async fn claim_mails(
        conn: &mut DB::Connection,
        now: i64,
        lease: i64,
        limit: i64,
    ) -> Result<Vec<QueuedMail>, sqlx::Error> {
        let skip_locked = if DB::NAME == "SQLite" {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        let sql = format!(
            "UPDATE mail_outbox SET locked_until = $1 + $2
             WHERE id IN (SELECT id FROM mail_outbox
                          WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                            AND (locked_until IS NULL OR locked_until <= $1)
                          ORDER BY id LIMIT $3{skip_locked})
               AND sent_at IS NULL AND failed_at IS NULL
               AND (locked_until IS NULL OR locked_until <= $1)
             RETURNING id, kind, recipient, subject, body, CAST(attempts AS BIGINT) AS attempts"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(lease)
            .bind(limit)
            .fetch_all(conn)
            .await?;
        let mut mails: Vec<QueuedMail> = rows
            .iter()
            .map(|r| {
                Ok(QueuedMail {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    recipient: r.try_get("recipient")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get::<Option<String>, _>("body")?.unwrap_or_default(),
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    /// Records a mail as sent (its body erased).
    pub(super) async fn mail_sent(
        conn: &mut DB::Connection,
        id: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $2, body = NULL, locked_until = NULL,
                    attempts = attempts + 1, last_error = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Records a failed try: retried at `next_attempt_at`, or given up (body erased) when
    /// `give_up`; `counted` tries are added to the mail's count.
    pub(super) async fn mail_failed(
        conn: &mut DB::Connection,
        failure: &MailFailure<'_>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE mail_outbox SET locked_until = NULL, attempts = attempts + $2,
                    next_attempt_at = $3, last_error = $4,
                    failed_at = CASE WHEN $5 > 0 THEN $6 ELSE NULL END,
                    body = CASE WHEN $5 > 0 THEN NULL ELSE body END
             WHERE id = $1",
        )
        .bind(failure.id)
        .bind(failure.counted)
        .bind(failure.next_attempt_at)
        .bind(failure.error)
        .bind(i64::from(failure.give_up))
        .bind(failure.now)
        .execute(conn)
        .await
        .map(|_| ())
    }

    /// Mails waiting to be sent (neither sent nor given up).
    pub(super) async fn outbox_depth(conn: &mut DB::Connection) -> Result<i64, sqlx::Error> {
        let row = sqlx::query(
            "SELECT CAST(count(*) AS BIGINT) AS n FROM mail_outbox
             WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(conn)
        .await?;
        row.try_get("n")
    }

    /// The soonest time a waiting mail is due (Unix ms), if any.
    pub(super) async fn next_mail_due(
        conn: &mut DB::Connection,
    ) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT min(CASE WHEN locked_until IS NOT NULL AND locked_until > next_attempt_at
                             THEN locked_until ELSE next_attempt_at END) AS due
             FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(conn)
        .await?;
        row.try_get("due")
    }

    /// Deletes sent and given-up mails older than `cutoff`, and links ended before it.
    pub(super) async fn purge_mail(
        conn: &mut DB::Connection,
        cutoff: i64,
    ) -> Result<u64, sqlx::Error> {
        let mails = sqlx::query(
            "DELETE FROM mail_outbox WHERE (sent_at IS NOT NULL AND sent_at < $1)
                                       OR (failed_at IS NOT NULL AND failed_at < $1)",
        )
        .bind(cutoff)
        .execute(&mut *conn)
        .await?;
        let links = sqlx::query("DELETE FROM one_time_links WHERE expires_at < $1")
            .bind(cutoff)
            .execute(&mut *conn)
            .await?;
        let throttle = sqlx::query("DELETE FROM mail_throttle WHERE last_sent_at < $1")
            .bind(cutoff)
            .execute(conn)
            .await?;
        Ok(mails.rows() + links.rows() + throttle.rows())
    }
}

/// What [`Store::request_link`] does for an eligible account.
pub struct LinkRequestPlan<'a> {
    /// The mail kind (the resend limit is per address and kind).
    pub kind: &'static str,
    /// `MAIL_RESEND_SECONDS`, in milliseconds.
    pub interval_ms: i64,
    /// Which accounts get a link.
    pub eligible: Eligible,
    /// The link and its mail, for the account's user.
    pub compose: &'a (dyn Fn(&User) -> (NewLink<Uuid>, OutgoingMail) + Send + Sync),
}

/// What [`Store::signup_pending`] does.
pub struct SignupPlan<'a> {
    /// The normalized address.
    pub email: &'a str,
    /// The hash of the password given with this signup.
    pub password_hash: &'a str,
    /// `MAIL_RESEND_SECONDS`, in milliseconds.
    pub interval_ms: i64,
    /// A verification link and its mail, for a new or unverified account.
    pub verification: &'a (dyn Fn(&User) -> (NewLink<Uuid>, OutgoingMail) + Send + Sync),
    /// The notice to a verified account's address.
    pub notice: &'a (dyn Fn(&User) -> OutgoingMail + Send + Sync),
}

/// A failed delivery to record.
#[derive(Debug)]
pub struct MailFailure<'a> {
    /// The outbox row.
    pub id: i64,
    /// Tries to add to its count (0 when the server could not be reached).
    pub counted: i64,
    /// When to try again.
    pub next_attempt_at: i64,
    /// Why it failed (never the body).
    pub error: &'a str,
    /// Give up for good.
    pub give_up: bool,
    /// Now.
    pub now: i64,
}

impl Store {
    /// See [`Sql::request_link`]: the resend limit, then a link and its mail for an eligible
    /// account, in one transaction.
    pub async fn request_link(
        &self,
        email: &str,
        plan: &LinkRequestPlan<'_>,
    ) -> Result<LinkRequest, StoreError> {
        let now = now_ms();
        run!(self, request_link(email, plan, now))
    }

    /// See [`PendingSignup`]. A concurrent first signup of the same address (a unique
    /// violation) is answered by running once more, as the second one.
    pub async fn signup_pending(&self, plan: &SignupPlan<'_>) -> Result<PendingSignup, StoreError> {
        match run!(self, signup_pending(plan, now_ms())) {
            Err(error) if passport_actix::store::unique_violation(&error).is_some() => {
                run!(self, signup_pending(plan, now_ms()))
            }
            other => other,
        }
    }

    /// The user and password hash of a live link of `purpose` (not used up).
    pub async fn peek_link(
        &self,
        hash: &LinkTokenHash,
        purpose: LinkPurpose,
    ) -> Result<Option<(User, String)>, StoreError> {
        let now = now_ms();
        run!(self, peek_link(hash.as_str(), purpose.as_str(), now))
    }

    /// Uses up `user_id`'s verification link and marks the address verified; `false` if
    /// the link is no longer valid.
    pub async fn verify_email(
        &self,
        hash: &LinkTokenHash,
        user_id: Uuid,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        run!(self, verify_email(hash.as_str(), user_id, now))
    }

    /// A password reset by link (see [`Sql::reset_password`]); `None` if the link is no longer
    /// valid.
    pub async fn reset_password(
        &self,
        hash: &LinkTokenHash,
        password_hash: &str,
    ) -> Result<Option<User>, StoreError> {
        let now = now_ms();
        let done = run!(self, reset_password(hash.as_str(), password_hash, now))?;
        Ok(done.map(|(user, _revoked)| {
            self.liveness.cache().invalidate_user(&user.id.to_string());
            user
        }))
    }

    /// Whether the user's address is verified (always, unless signed up with
    /// `EMAIL_VERIFICATION=required` and not yet confirmed).
    pub async fn email_verified(&self, user_id: Uuid) -> Result<bool, StoreError> {
        run!(self, email_verified(user_id))
    }

    /// Claims due mails for `lease_ms` (see [`Sql::claim_mails`]).
    pub async fn claim_mails(
        &self,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let now = now_ms();
        run!(self, claim_mails(now, lease_ms, limit))
    }

    /// Records a mail as sent.
    pub async fn mail_sent(&self, id: i64) -> Result<(), StoreError> {
        let now = now_ms();
        run!(self, mail_sent(id, now))
    }

    /// Records a failed try.
    pub async fn mail_failed(&self, failure: &MailFailure<'_>) -> Result<(), StoreError> {
        run!(self, mail_failed(failure))
    }

    /// Mails waiting to be sent.
    pub async fn outbox_depth(&self) -> Result<i64, StoreError> {
        run!(self, outbox_depth())
    }

    /// When the next waiting mail is due (Unix ms), if any.
    pub async fn next_mail_due(&self) -> Result<Option<i64>, StoreError> {
        run!(self, next_mail_due())
    }

    /// Deletes sent and given-up mails, ended links and resend records older than `cutoff`
    /// (Unix ms).
    pub async fn purge_mail(&self, cutoff: i64) -> Result<u64, StoreError> {
        run!(self, purge_mail(cutoff))
    }
}

impl LinkStore for Store {
    type User = User;

    async fn save_link(&self, link: &NewLink<User>) -> Result<(), StoreError> {
        let link = NewLink {
            token_hash: link.token_hash.clone(),
            purpose: link.purpose,
            user: link.user.id,
            created_at_ms: link.created_at_ms,
            expires_at_ms: link.expires_at_ms,
        };
        run!(self, save_link(&link))
    }

    async fn use_link(
        &self,
        token_hash: &LinkTokenHash,
        purpose: LinkPurpose,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        run!(
            self,
            use_link(token_hash.as_str(), purpose.as_str(), now_ms)
        )
    }
}
