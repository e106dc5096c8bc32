//! The rate limits section: `RATE_LIMIT_PER_MINUTE` and the per-account login throttle
//! (`LOGIN_MAX_FAILURES`, `LOGIN_FAILURE_WINDOW_SECONDS`).

use std::time::Duration;

use super::env::{ConfigError, Env};

/// Per-address rate limits and the per-account login throttle.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// `RATE_LIMIT_PER_MINUTE`: requests per client address per minute to `/signup`, and
    /// separately to `/login` (and the OpenID callbacks).
    pub per_minute: u32,
    /// `LOGIN_MAX_FAILURES`: failed logins per account inside the window before it is
    /// throttled.
    pub login_max_failures: u32,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`: that window, and the longest a throttle lasts.
    pub login_failure_window: Duration,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_minute: 60,
            login_max_failures: 10,
            login_failure_window: Duration::from_secs(900),
        }
    }
}

impl RateLimitSettings {
    /// Reads the section.
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            per_minute: env.positive("RATE_LIMIT_PER_MINUTE", default.per_minute)?,
            login_max_failures: env.positive("LOGIN_MAX_FAILURES", default.login_max_failures)?,
            login_failure_window: env
                .seconds("LOGIN_FAILURE_WINDOW_SECONDS", default.login_failure_window)?,
        })
    }
}
