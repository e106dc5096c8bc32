//! The sessions section: `SESSION_TTL_SECONDS`, `REFRESH_REUSE_GRACE_SECONDS`,
//! `SESSION_CACHE_CAPACITY`.

use std::time::Duration;

use super::env::{ConfigError, Env};

/// Sessions and refresh tokens.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `SESSION_TTL_SECONDS`: how long a session lives after its login.
    pub ttl: Duration,
    /// `REFRESH_REUSE_GRACE_SECONDS`: how long a used refresh token may be presented again
    /// without counting as reuse (0: never).
    pub refresh_reuse_grace: Duration,
    /// `SESSION_CACHE_CAPACITY`: live sessions remembered per instance.
    pub cache_capacity: usize,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(2_592_000),
            refresh_reuse_grace: Duration::from_secs(10),
            cache_capacity: 50_000,
        }
    }
}

impl SessionSettings {
    /// Reads the section.
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default = Self::default();
        Ok(Self {
            ttl: env.seconds("SESSION_TTL_SECONDS", default.ttl)?,
            refresh_reuse_grace: Duration::from_secs(env.parse(
                "REFRESH_REUSE_GRACE_SECONDS",
                default.refresh_reuse_grace.as_secs(),
                "a number of seconds (0 or more)",
            )?),
            cache_capacity: env
                .parse(
                    "SESSION_CACHE_CAPACITY",
                    default.cache_capacity,
                    "a number of sessions",
                )?
                .max(1),
        })
    }
}
