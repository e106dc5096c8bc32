//! Per-key request budgets for cold routes (signup, login, mail, second factors), counted by a
//! [`RateCounter`]: in process ([`MemoryRateCounter`]) or in a store every instance of an app
//! shares (implement the trait on it, one round trip per counted request).
//!
//! The budget is a generic cell rate algorithm ([`gcra`]): `per_minute` requests per minute,
//! in bursts of up to that many. A refused request gets [`rate_limited`]: `429` with
//! `Retry-After` (whole seconds, at least 1) and the JSON body
//! `{"error":"rate_limited","message":…}`.
//!
//! ```
//! use std::num::NonZeroU32;
//! use passport_actix::rate_limit::{MemoryRateCounter, RateCounter, RateDecision, rate_limited};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let counter = MemoryRateCounter::default();
//! let per_minute = NonZeroU32::new(2).unwrap();
//! for _ in 0..2 {
//!     let decision = counter.hit("login:203.0.113.7", per_minute).await.unwrap();
//!     assert_eq!(decision, RateDecision::Allowed);
//! }
//! let RateDecision::Limited { retry_after } = counter.hit("login:203.0.113.7", per_minute).await.unwrap() else {
//!     panic!("the third request within the minute is over the budget");
//! };
//! let response = rate_limited(retry_after);
//! assert_eq!(response.status(), 429);
//! assert_eq!(response.headers().get("retry-after").unwrap(), "30");
//! // Another key has a budget of its own.
//! assert_eq!(counter.hit("login:203.0.113.8", per_minute).await.unwrap(), RateDecision::Allowed);
//! # });
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};

use crate::clock::now_ms;
use crate::{ErrorBody, StoreError};

/// What a [`RateCounter`] decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Within the budget; the request has been counted.
    Allowed,
    /// Over the budget (not counted); the next request fits after `retry_after`.
    Limited {
        /// How long until the next request fits.
        retry_after: Duration,
    },
}

/// Counts requests against per-key budgets.
///
/// Implement it on a store the instances share to count each budget once across them (the
/// passport-server does, with one upsert on PostgreSQL); [`MemoryRateCounter`] counts in this
/// process.
pub trait RateCounter {
    /// Counts one request against `key`'s budget of `per_minute` requests per minute (bursts
    /// of up to that many).
    fn hit(
        &self,
        key: &str,
        per_minute: NonZeroU32,
    ) -> impl Future<Output = Result<RateDecision, StoreError>>;
}

/// One step of the generic cell rate algorithm, in milliseconds: the decision, and the
/// key's theoretical arrival time to store (`tat_ms` unchanged when refused).
///
/// A key with no stored time (`None`) has its whole budget. The request fits when
/// `max(tat, now) + interval - now <= 60 s`, with `interval = 60 s / per_minute`.
///
/// ```
/// use std::num::NonZeroU32;
/// use std::time::Duration;
/// use passport_actix::rate_limit::{RateDecision, gcra};
///
/// let one_a_minute = NonZeroU32::new(1).unwrap();
/// let (first, tat) = gcra(None, 0, one_a_minute);
/// assert_eq!(first, RateDecision::Allowed);
/// let (second, _) = gcra(Some(tat), 20_000, one_a_minute);
/// assert_eq!(second, RateDecision::Limited { retry_after: Duration::from_secs(40) });
/// assert_eq!(gcra(Some(tat), 60_000, one_a_minute).0, RateDecision::Allowed);
/// ```
pub fn gcra(tat_ms: Option<i64>, now_ms: i64, per_minute: NonZeroU32) -> (RateDecision, i64) {
    let burst_ms: i64 = 60_000;
    let interval_ms = burst_ms / i64::from(per_minute.get());
    let start = tat_ms.map_or(now_ms, |tat| tat.max(now_ms));
    let next = start + interval_ms;
    if next - now_ms <= burst_ms {
        return (RateDecision::Allowed, next);
    }
    let wait_ms = (next - now_ms - burst_ms).max(1);
    let retry_after = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(1));
    (
        RateDecision::Limited { retry_after },
        tat_ms.unwrap_or(now_ms),
    )
}

/// `429 rate_limited` with `Retry-After: <seconds>` (rounded up, at least 1) and the JSON error
/// body, marked `no-store`.
pub fn rate_limited(retry_after: Duration) -> HttpResponse {
    let seconds = (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
    let mut response = ErrorBody::new(
        "rate_limited",
        "Too many requests from this address; try again later",
    )
    .response(StatusCode::TOO_MANY_REQUESTS);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

/// A [`RateCounter`] in this process's memory (one instance's view).
#[derive(Debug, Default)]
pub struct MemoryRateCounter {
    tats: Mutex<HashMap<String, i64>>,
}

impl MemoryRateCounter {
    /// Forgets the keys whose budget is whole again (call it now and then to bound memory).
    pub fn forget_idle(&self) {
        let now = now_ms();
        self.tats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, tat| *tat > now);
    }
}

impl RateCounter for MemoryRateCounter {
    async fn hit(&self, key: &str, per_minute: NonZeroU32) -> Result<RateDecision, StoreError> {
        let now = now_ms();
        let mut tats = self.tats.lock().unwrap_or_else(PoisonError::into_inner);
        let (decision, tat) = gcra(tats.get(key).copied(), now, per_minute);
        tats.insert(key.to_owned(), tat);
        Ok(decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_budget_then_one_interval_between_requests() {
        let six = NonZeroU32::new(6).unwrap();
        let mut tat = None;
        for i in 0..6 {
            let (decision, next) = gcra(tat, 1_000, six);
            assert_eq!(decision, RateDecision::Allowed, "request {}", i + 1);
            tat = Some(next);
        }
        let (refused, kept) = gcra(tat, 1_000, six);
        assert_eq!(
            refused,
            RateDecision::Limited {
                retry_after: Duration::from_secs(10)
            }
        );
        assert_eq!(Some(kept), tat, "a refused request is not counted");
        assert_eq!(gcra(tat, 11_000, six).0, RateDecision::Allowed);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        for (wait, header) in [(1, "1"), (1_001, "2"), (30_000, "30")] {
            let response = rate_limited(Duration::from_millis(wait));
            assert_eq!(response.status(), 429);
            assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), header);
        }
        assert_eq!(
            rate_limited(Duration::ZERO)
                .headers()
                .get(RETRY_AFTER)
                .unwrap(),
            "1"
        );
    }
}
