//! Requests per client address per minute (`RATE_LIMIT_PER_MINUTE`), with `governor`.

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

use crate::client_ip::{ClientIp, rate_limit_key};

/// A per-address limiter for one group of routes.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    client_ip: ClientIp,
}

impl RateLimit {
    /// `per_minute` requests per client address per minute (bursts up to that many).
    pub fn per_minute(per_minute: NonZeroU32, client_ip: ClientIp) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            client_ip,
        }
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
        match self.limiter.check_key(&ip) {
            Ok(()) => next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                tracing::warn!(client = %ip, "rate limit exceeded");
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
