//! The cross-origin section: `CORS_ALLOWED_ORIGINS`.

use super::env::{ConfigError, Env};

/// Cross-origin requests.
#[derive(Debug, Clone, Default)]
pub struct CorsSettings {
    /// `CORS_ALLOWED_ORIGINS`: exact origins (none by default: no CORS headers at all).
    pub allowed_origins: Vec<String>,
}

impl CorsSettings {
    /// Reads the section.
    pub fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            allowed_origins: env
                .list("CORS_ALLOWED_ORIGINS")
                .iter()
                .map(|origin| parse_origin(origin))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// An origin is exactly `scheme://host[:port]`: no wildcard, no path, not even a trailing `/`.
fn parse_origin(origin: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name: "CORS_ALLOWED_ORIGINS",
        value: origin.to_owned(),
        expected: "comma-separated origins like https://app.example.com (no *, no path)",
    };
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    if host.is_empty() || host.contains(['/', '*', '?', '#', '@', ' ']) {
        return Err(invalid());
    }
    Ok(origin.to_owned())
}
