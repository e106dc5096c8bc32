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
//!
//! An IPv4 address (or an unparseable forwarded entry) has one budget. An IPv6 client is
//! limited at three widths together: its /64 (one end site) gets the budget, its /56 four
//! times it and its /48 sixteen times it, so a residential /56 (256 /64s) or a /48 cannot
//! multiply its budget by walking its prefixes.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client_ip::{Client, ClientIp, rate_limit_key};
use passport_actix::StoreError;
use passport_actix::rate_limit::{RateDecision, rate_limited};

use crate::store::Store;

/// A per-address limiter for one group of routes.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<Client>>,
    /// IPv6 /56s (4 × the budget) and /48s (16 × the budget).
    wider: Arc<[(u8, DefaultKeyedRateLimiter<IpAddr>); 2]>,
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

impl Shared {
    /// Counts one request of `client` in the database, at the same widths as the local
    /// limiter (an IPv6 /64, then its /56 and /48 with 4 × and 16 × the budget), narrowest
    /// first: `Ok(Some(wait))` decided (`None` inside: go ahead), `Ok(None)` not shared here.
    async fn check(&self, client: &Client) -> Result<Option<Option<Duration>>, StoreError> {
        let times = |n: u32| {
            self.per_minute
                .saturating_mul(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
        };
        let mut budgets = vec![(format!("{}:{client}", self.name), self.per_minute)];
        if let Client::Ip(IpAddr::V6(v6)) = client {
            for (bits, factor) in [(56, 4), (48, 16)] {
                let key = format!("{}:{}/{bits}", self.name, prefix(*v6, bits));
                budgets.push((key, times(factor)));
            }
        }
        for (key, per_minute) in budgets {
            match self.store.hit_rate_limit(&key, per_minute).await? {
                Some(RateDecision::Allowed) => {}
                Some(RateDecision::Limited { retry_after }) => return Ok(Some(Some(retry_after))),
                None => return Ok(None),
            }
        }
        Ok(Some(None))
    }
}

/// The IPv6 prefix of `ip` of `bits` length.
fn prefix(ip: std::net::Ipv6Addr, bits: u8) -> IpAddr {
    let mask = u128::MAX << (128 - u32::from(bits));
    IpAddr::V6((u128::from(ip) & mask).into())
}

impl RateLimit {
    /// `per_minute` requests per client address per minute (bursts up to that many), counted
    /// by this instance alone; for IPv6, per /64, with 4 × that per /56 and 16 × per /48.
    pub fn per_minute(per_minute: NonZeroU32, client_ip: ClientIp) -> Self {
        let times =
            |n: u32| per_minute.saturating_mul(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            wider: Arc::new([
                (56, RateLimiter::keyed(Quota::per_minute(times(4)))),
                (48, RateLimiter::keyed(Quota::per_minute(times(16)))),
            ]),
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

    /// How long `client` must wait (`None`: go ahead, counted): the shared budget when there
    /// is one and the database answers, else this instance's.
    async fn check(&self, client: &Client) -> Option<Duration> {
        if let Some(shared) = &self.shared {
            match shared.check(client).await {
                Ok(Some(decision)) => return decision,
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "shared rate limit unavailable; counting locally")
                }
            }
        }
        self.check_local(client).err()
    }

    /// Forgets addresses whose budget is full again (bounds memory; called periodically).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        for (_, limiter) in self.wider.iter() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Counts one request of `client`, narrowest width first (a request refused at one width
    /// is not counted at the wider ones); how long to wait when a width is spent.
    fn check_local(&self, client: &Client) -> Result<(), std::time::Duration> {
        let wait = |not_until: governor::NotUntil<_>| {
            not_until.wait_time_from(DefaultClock::default().now())
        };
        self.limiter.check_key(client).map_err(wait)?;
        if let Client::Ip(IpAddr::V6(v6)) = client {
            for (bits, limiter) in self.wider.iter() {
                limiter.check_key(&prefix(*v6, *bits)).map_err(wait)?;
            }
        }
        Ok(())
    }

    /// Middleware: `429` with `Retry-After` and a JSON body past the limit.
    pub async fn enforce(
        self,
        req: ServiceRequest,
        next: Next<impl MessageBody>,
    ) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
        let Some(client) = self
            .client_ip
            .client(req.request())
            .map(|client| match client {
                Client::Ip(ip) => Client::Ip(rate_limit_key(ip)),
                other => other,
            })
        else {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body);
        };
        match self.check(&client).await {
            None => next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body),
            Some(wait) => {
                tracing::warn!(%client, "rate limit exceeded");
                Ok(req.into_response(rate_limited(wait)).map_into_right_body())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(ip: &str) -> Client {
        Client::Ip(rate_limit_key(ip.parse().unwrap()))
    }

    #[test]
    fn ipv6_budgets_are_kept_at_64_56_and_48_together() {
        let limit = RateLimit::per_minute(NonZeroU32::new(2).unwrap(), ClientIp::default());
        // One /64: its own budget of 2.
        assert!(limit.check_local(&v6("2001:db8:0:100::1")).is_ok());
        assert!(limit.check_local(&v6("2001:db8:0:100::2")).is_ok());
        assert!(
            limit.check_local(&v6("2001:db8:0:100::3")).is_err(),
            "the /64 is spent"
        );
        // Walking the /64s of one /56: 4 × 2 = 8 in all, whatever the /64.
        let mut granted = 2;
        for n in 1..=255u32 {
            if limit
                .check_local(&v6(&format!("2001:db8:0:1{n:02x}::1")))
                .is_ok()
            {
                granted += 1;
            }
        }
        assert_eq!(granted, 8, "a /56 holds 4 × the budget, not 256 ×");
        // Walking the /56s of one /48: 16 × 2 = 32 in all.
        let mut granted = 8;
        for n in 2..=255u32 {
            for m in 0..2u32 {
                if limit
                    .check_local(&v6(&format!("2001:db8:0:{n:02x}{m:02x}::1")))
                    .is_ok()
                {
                    granted += 1;
                }
            }
        }
        assert_eq!(granted, 32, "a /48 holds 16 × the budget");
        // Another /48 is untouched; IPv4 and unparseable entries have budgets of their own.
        assert!(limit.check_local(&v6("2001:db8:1::1")).is_ok());
        assert!(
            limit
                .check_local(&Client::Ip("203.0.113.5".parse().unwrap()))
                .is_ok()
        );
        assert!(
            limit
                .check_local(&Client::Unparsed("unknown".into()))
                .is_ok()
        );
    }
}
