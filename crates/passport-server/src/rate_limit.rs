//! Requests per client address per minute (`RATE_LIMIT_PER_MINUTE`), with `governor`.
//!
//! An IPv4 address (or an unparseable forwarded entry) has one budget. An IPv6 client is
//! limited at three widths together: its /64 (one end site) gets the budget, its /56 four
//! times it and its /48 sixteen times it, so a residential /56 (256 /64s) or a /48 cannot
//! multiply its budget by walking its prefixes.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::middleware::Next;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use passport_actix::ErrorBody;

use crate::client_ip::{Client, ClientIp, rate_limit_key};

/// A per-address limiter for one group of routes.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<Client>>,
    /// IPv6 /56s (4 × the budget) and /48s (16 × the budget).
    wider: Arc<[(u8, DefaultKeyedRateLimiter<IpAddr>); 2]>,
    client_ip: ClientIp,
}

/// The IPv6 prefix of `ip` of `bits` length.
fn prefix(ip: std::net::Ipv6Addr, bits: u8) -> IpAddr {
    let mask = u128::MAX << (128 - u32::from(bits));
    IpAddr::V6((u128::from(ip) & mask).into())
}

impl RateLimit {
    /// `per_minute` requests per client address per minute (bursts up to that many); for
    /// IPv6, per /64, with 4 × that per /56 and 16 × per /48.
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
        }
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
    fn check(&self, client: &Client) -> Result<(), std::time::Duration> {
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
        match self.check(&client) {
            Ok(()) => next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body),
            Err(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                tracing::warn!(%client, "rate limit exceeded");
                let mut response = ErrorBody::new(
                    "rate_limited",
                    "Too many requests from this address; try again later",
                )
                .response(StatusCode::TOO_MANY_REQUESTS);
                if let Ok(value) = seconds.max(1).to_string().parse() {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                Ok(req.into_response(response).map_into_right_body())
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
        assert!(limit.check(&v6("2001:db8:0:100::1")).is_ok());
        assert!(limit.check(&v6("2001:db8:0:100::2")).is_ok());
        assert!(
            limit.check(&v6("2001:db8:0:100::3")).is_err(),
            "the /64 is spent"
        );
        // Walking the /64s of one /56: 4 × 2 = 8 in all, whatever the /64.
        let mut granted = 2;
        for n in 1..=255u32 {
            if limit.check(&v6(&format!("2001:db8:0:1{n:02x}::1"))).is_ok() {
                granted += 1;
            }
        }
        assert_eq!(granted, 8, "a /56 holds 4 × the budget, not 256 ×");
        // Walking the /56s of one /48: 16 × 2 = 32 in all.
        let mut granted = 8;
        for n in 2..=255u32 {
            for m in 0..2u32 {
                if limit
                    .check(&v6(&format!("2001:db8:0:{n:02x}{m:02x}::1")))
                    .is_ok()
                {
                    granted += 1;
                }
            }
        }
        assert_eq!(granted, 32, "a /48 holds 16 × the budget");
        // Another /48 is untouched; IPv4 and unparseable entries have budgets of their own.
        assert!(limit.check(&v6("2001:db8:1::1")).is_ok());
        assert!(
            limit
                .check(&Client::Ip("203.0.113.5".parse().unwrap()))
                .is_ok()
        );
        assert!(limit.check(&Client::Unparsed("unknown".into())).is_ok());
    }
}
