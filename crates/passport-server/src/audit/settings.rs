//! The audit section: `AUDIT_RETENTION_DAYS`.

use std::time::Duration;

use crate::configuration::env::{ConfigError, Env};

/// The audit trail.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// `AUDIT_RETENTION_DAYS`: how long audit rows are kept (`None`: for ever, from `0`).
    pub retention: Option<Duration>,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention: Some(Duration::from_secs(90 * 86_400)),
        }
    }
}

impl AuditSettings {
    /// Reads the section.
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let default_days = Self::default()
            .retention
            .map_or(0, |d| (d.as_secs() / 86_400) as u32);
        Ok(Self {
            retention: match env.parse(
                "AUDIT_RETENTION_DAYS",
                default_days,
                "a number of days (0: keep for ever)",
            )? {
                0 => None,
                days => Some(Duration::from_secs(u64::from(days) * 86_400)),
            },
        })
    }
}
