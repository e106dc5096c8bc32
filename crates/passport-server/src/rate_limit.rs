//! Requests per client address per minute (`RATE_LIMIT_PER_MINUTE`).
//!
//! On PostgreSQL the budget of an address is shared by every instance on the database (one
//! upsert on `rate_limit_buckets` per limited request, see [`Store::hit_rate_limit`], the
//! library's [`passport_actix::rate_limit::RateCounter`] on the shared store), so N
//! instances behind a balancer allow the limit once, not N times. On SQLite — or for a
//! request whose shared count fails (the database is unreachable) — each instance counts on
//! its own, in memory, with `governor`.
//!
//! Any route can be limited: build one [`RateLimit`] per budget with [`RateLimit::shared`]
//! (a distinct `name` per budget) and wrap the resource with its [`RateLimit::enforce`]:
//!
//! ```ignore
//! let limit = RateLimit::shared("password-forgot", per_minute, client_ip.clone(), &store);
//! web::resource("/password/forgot")
//!     .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
//!         limit.clone().enforce(req, next)
//!     }))
//! ```
//!
//! Only the wrapped routes pay the round trip; the guarded routes never see a limiter.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client_ip::{ClientIp, rate_limit_key};
use passport_actix::rate_limit::{RateDecision, rate_limited};

use crate::store::Store;

/// A per-address limiter for one group of routes.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    client_ip: ClientIp,
    shared: Option<Shared>,
}

/// The budget kept in the database for every instance.
#[derive(Clone)]
struct Shared {
    store: Store,
    name: &'static str,
    per_minute: NonZeroU32,
}

impl RateLimit {
    /// `per_minute` requests per client address per minute (bursts up to that many), counted
    /// by this instance alone.
    pub fn per_minute(per_minute: NonZeroU32, client_ip: ClientIp) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            client_ip,
            shared: None,
        }
    }

    /// `per_minute` requests per client address per minute (bursts up to that many) on the
    /// budget called `name`, counted once across every instance when `store` is PostgreSQL;
    /// on SQLite, like [`per_minute`](Self::per_minute).
    pub fn shared(
        name: &'static str,
        per_minute: NonZeroU32,
        client_ip: ClientIp,
        store: &Store,
    ) -> Self {
        let mut limit = Self::per_minute(per_minute, client_ip);
        if store.shares_rate_limits() {
            limit.shared = Some(Shared {
                store: store.clone(),
                name,
                per_minute,
            });
        }
        limit
    }

    /// How long `ip` must wait (`None`: go ahead, counted): the shared budget when there is
    /// one and the database answers, else this instance's.
    async fn check(&self, ip: IpAddr) -> Option<Duration> {
        if let Some(shared) = &self.shared {
            let key = format!("{}:{ip}", shared.name);
            match shared.store.hit_rate_limit(&key, shared.per_minute).await {
                Ok(Some(RateDecision::Allowed)) => return None,
                Ok(Some(RateDecision::Limited { retry_after })) => return Some(retry_after),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "shared rate limit unavailable; counting locally")
                }
            }
        }
        self.limiter
            .check_key(&ip)
            .err()
            .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets addresses whose budget is full again (bounds memory; called periodically).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Middleware: `429` with `Retry-After` and a JSON body past the limit.
    pub async fn enforce(
        self,
        req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
        let Some(ip) = self.client_ip.of(req.request()).map(rate_limit_key) else {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body);
        };
        match self.check(ip).await {
            None => next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body),
            Some(wait) => {
                tracing::warn!(client = %ip, "rate limit exceeded");
                Ok(req.into_response(rate_limited(wait)).map_into_right_body())
            }
        }
    }
}
