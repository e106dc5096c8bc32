//! Per-address rate limits shared by every instance on one PostgreSQL database (the
//! `rate_limit_buckets` unlogged table): one upsert per request on the limited routes.

use std::num::NonZeroU32;
use std::time::Duration;

use passport_actix::StoreError;
use passport_actix::rate_limit::{RateCounter, RateDecision};

use super::{Database, Store};

/// One request against `key`'s budget: GCRA with an emission interval of `interval_ms` and
/// a burst of `burst_ms` (`burst_ms / interval_ms` requests at once), by the database's
/// clock, in a single statement (an upsert whose row lock serializes one key's requests):
/// [`passport_actix::rate_limit::gcra`] in SQL.
const HIT: &str = "
    WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms)
    INSERT INTO rate_limit_buckets AS b (key, tat, allowed)
    SELECT $1, now_ms + $2, $2 <= $3 FROM clock
    ON CONFLICT (key) DO UPDATE SET
        allowed = GREATEST(b.tat, EXCLUDED.tat - $2) + $2 <= EXCLUDED.tat - $2 + $3,
        tat = CASE
            WHEN GREATEST(b.tat, EXCLUDED.tat - $2) + $2 <= EXCLUDED.tat - $2 + $3
            THEN GREATEST(b.tat, EXCLUDED.tat - $2) + $2
            ELSE b.tat
        END
    RETURNING allowed, tat, (SELECT now_ms FROM clock)";

impl Store {
    /// Whether this store can hold rate limits shared by the instances (PostgreSQL; on
    /// SQLite each server keeps its own).
    pub fn shares_rate_limits(&self) -> bool {
        matches!(self.database(), Database::Postgres(_))
    }

    /// Counts one request against `key` (for instance `login:203.0.113.7`): at most
    /// `per_minute` per minute, in bursts of up to that many, across every instance.
    /// `Ok(None)` on SQLite, which shares nothing (use a per-instance limiter). Bounded by a
    /// quarter of `DATABASE_TIMEOUT_SECONDS` (at most 1 s), not the whole of it.
    pub async fn hit_rate_limit(
        &self,
        key: &str,
        per_minute: NonZeroU32,
    ) -> Result<Option<RateDecision>, StoreError> {
        let Database::Postgres(pool) = self.database() else {
            return Ok(None);
        };
        let burst_ms: i64 = 60_000;
        let interval_ms = burst_ms / i64::from(per_minute.get());
        // A quarter of the store's deadline at most (the limiter falls back to counting per
        // instance): a slow database must not double the wait of the route it guards.
        let limit = self.sql.ping_timeout();
        let (allowed, tat, now): (bool, i64, i64) = on_postgres!(self, pool, within limit, |conn| {
            sqlx::query_as(HIT)
                .bind(key)
                .bind(interval_ms)
                .bind(burst_ms)
                .fetch_one(&mut *conn)
        })?;
        if allowed {
            return Ok(Some(RateDecision::Allowed));
        }
        // Refused: the next request fits once `max(tat, now) + interval - now <= burst`.
        let wait_ms = (tat.max(now) + interval_ms - now - burst_ms).max(1);
        Ok(Some(RateDecision::Limited {
            retry_after: Duration::from_millis(wait_ms as u64),
        }))
    }

    /// Deletes the buckets whose budget is full again; returns how many (PostgreSQL; `0` on
    /// SQLite).
    pub async fn purge_rate_limits(&self) -> Result<u64, StoreError> {
        let Database::Postgres(pool) = self.database() else {
            return Ok(0);
        };
        on_postgres!(self, pool, |conn| async {
            sqlx::query(
                "DELETE FROM rate_limit_buckets
                 WHERE tat < (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
            )
            .execute(&mut *conn)
            .await
            .map(|done| done.rows_affected())
        })
    }
}

/// The shared counter (PostgreSQL). On SQLite it counts nothing and allows everything: pair it
/// with a per-instance limiter there (the server's `RateLimit` does).
impl RateCounter for Store {
    async fn hit(&self, key: &str, per_minute: NonZeroU32) -> Result<RateDecision, StoreError> {
        Ok(self
            .hit_rate_limit(key, per_minute)
            .await?
            .unwrap_or(RateDecision::Allowed))
    }
}
