//! The OpenID section: `OIDC_PROVIDERS`, each provider's `OIDC_<NAME>_*`, `OIDC_COOKIE_KEY`
//! and `OIDC_JWKS_COOLDOWN_SECONDS`.

use std::collections::BTreeMap;
use std::time::Duration;

use passport_actix::oidc::OidcConfig;
use secrecy::SecretString;

use crate::configuration::env::{ConfigError, Environment};

/// One provider's settings (`OIDC_<NAME>_*`).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// `OIDC_<NAME>_ISSUER`.
    pub issuer: String,
    /// `OIDC_<NAME>_CLIENT_ID`.
    pub client_id: String,
    /// `OIDC_<NAME>_CLIENT_SECRET` (optional: a public client relies on PKCE alone).
    pub client_secret: Option<SecretString>,
    /// `OIDC_<NAME>_REDIRECT_URL`: this server's `/auth/{name}/callback`, as the provider knows it.
    pub redirect_url: String,
    /// `OIDC_<NAME>_SCOPES` (space or comma separated; default `openid email profile`).
    pub scopes: Vec<String>,
}

/// `OIDC_PROVIDERS` and everything it names.
#[derive(Debug, Clone, Default)]
pub struct OidcSettings {
    /// The providers by name (lower case).
    pub providers: BTreeMap<String, ProviderSettings>,
    /// `OIDC_COOKIE_KEY` (at least 32 bytes); random per process when unset, so set it when
    /// several instances share a domain.
    pub cookie_key: Option<SecretString>,
    /// `OIDC_JWKS_COOLDOWN_SECONDS`: the shortest time between two JWKS fetches caused by an
    /// unknown `kid` (default 30).
    pub jwks_cooldown: Option<Duration>,
}

impl OidcSettings {
    /// Reads the OIDC settings through `get`.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut settings = Self::default();
        if let Some(key) = get("OIDC_COOKIE_KEY") {
            if key.len() < passport_actix::oidc::MIN_COOKIE_KEY_BYTES {
                return Err(ConfigError::Invalid {
                    name: "OIDC_COOKIE_KEY",
                    value: format!("{} bytes", key.len()),
                    expected: "at least 32 bytes (openssl rand -base64 48)",
                });
            }
            settings.cookie_key = Some(SecretString::from(key));
        }
        if let Some(seconds) = get("OIDC_JWKS_COOLDOWN_SECONDS") {
            let seconds = seconds.parse::<u64>().map_err(|_| ConfigError::Invalid {
                name: "OIDC_JWKS_COOLDOWN_SECONDS",
                value: seconds.clone(),
                expected: "a whole number of seconds",
            })?;
            settings.jwks_cooldown = Some(Duration::from_secs(seconds));
        }
        let Some(list) = get("OIDC_PROVIDERS") else {
            return Ok(settings);
        };
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.to_ascii_lowercase();
            if !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(ConfigError::Invalid {
                    name: "OIDC_PROVIDERS",
                    value: name,
                    expected: "comma-separated names of letters, digits and _",
                });
            }
            let prefix = format!("OIDC_{}_", name.to_ascii_uppercase());
            let required = |suffix: &str| {
                get(&format!("{prefix}{suffix}")).ok_or_else(|| ConfigError::Invalid {
                    name: "OIDC_PROVIDERS",
                    value: format!("{prefix}{suffix} is unset"),
                    expected: "ISSUER, CLIENT_ID and REDIRECT_URL for every provider",
                })
            };
            let scopes = get(&format!("{prefix}SCOPES"))
                .map(|s| {
                    s.split([' ', ','])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
            let provider = ProviderSettings {
                issuer: required("ISSUER")?,
                client_id: required("CLIENT_ID")?,
                client_secret: get(&format!("{prefix}CLIENT_SECRET")).map(SecretString::from),
                redirect_url: required("REDIRECT_URL")?,
                scopes,
            };
            // URLs are checked now, so that a bad one stops the start-up with exit code 2.
            OidcConfig::new(
                &provider.issuer,
                &provider.client_id,
                &provider.redirect_url,
                &[0; passport_actix::oidc::MIN_COOKIE_KEY_BYTES],
            )
            .map_err(|e| ConfigError::Invalid {
                name: "OIDC_PROVIDERS",
                value: format!("{prefix}ISSUER or {prefix}REDIRECT_URL: {e}"),
                expected: "https URLs (plain http only on loopback)",
            })?;
            settings.providers.insert(name, provider);
        }
        Ok(settings)
    }
}

impl OidcSettings {
    /// The production rule of this section: every issuer is https (plain http is allowed on
    /// loopback for a local test provider, never in production).
    pub fn problems(&self, environment: Environment) -> Vec<String> {
        if environment != Environment::Production {
            return Vec::new();
        }
        self.providers
            .iter()
            .filter(|(_, provider)| provider.issuer.to_ascii_lowercase().starts_with("http://"))
            .map(|(name, _)| {
                format!(
                    "OIDC_{}_ISSUER must be an https URL with APP_ENV=production (plain \
                     http, even on loopback, is for local tests)",
                    name.to_ascii_uppercase()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<OidcSettings, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OidcSettings::from_lookup(&|name: &str| map.get(name).cloned())
    }

    const GOOD: &[(&str, &str)] = &[
        ("OIDC_PROVIDERS", "Google, kc"),
        ("OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
        ("OIDC_GOOGLE_CLIENT_ID", "id"),
        ("OIDC_GOOGLE_CLIENT_SECRET", "secret"),
        (
            "OIDC_GOOGLE_REDIRECT_URL",
            "https://auth.example.com/auth/google/callback",
        ),
        ("OIDC_KC_ISSUER", "http://127.0.0.1:8080/realms/x"),
        ("OIDC_KC_CLIENT_ID", "id"),
        (
            "OIDC_KC_REDIRECT_URL",
            "http://127.0.0.1:3000/auth/kc/callback",
        ),
        ("OIDC_KC_SCOPES", "openid,email"),
    ];

    #[test]
    fn no_providers_by_default() {
        assert!(
            settings(&[])
                .map(|s| s.providers.is_empty())
                .unwrap_or(false)
        );
    }

    #[test]
    fn providers_are_read_by_lower_case_name() {
        let parsed = settings(GOOD).unwrap_or_default();
        assert_eq!(
            parsed.providers.keys().collect::<Vec<_>>(),
            ["google", "kc"]
        );
        let kc = &parsed.providers["kc"];
        assert_eq!(kc.scopes, ["openid", "email"]);
        assert!(kc.client_secret.is_none());
        assert_eq!(
            parsed.providers["google"].scopes,
            ["openid", "email", "profile"]
        );
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_secrets() {
        let mut missing = GOOD.to_vec();
        missing.retain(|(k, _)| *k != "OIDC_KC_CLIENT_ID");
        assert!(settings(&missing).is_err());
        let mut plain = GOOD.to_vec();
        plain.push(("OIDC_GOOGLE_ISSUER", "http://accounts.google.com"));
        plain.retain(|(k, v)| *k != "OIDC_GOOGLE_ISSUER" || v.starts_with("http:"));
        assert!(settings(&plain).is_err());
        let bad_name = [("OIDC_PROVIDERS", "a.b")];
        assert!(settings(&bad_name).is_err());
        let short_key = [("OIDC_COOKIE_KEY", "short-secret-value")];
        let error = settings(&short_key)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("OIDC_COOKIE_KEY") && !error.contains("short-secret-value"),
            "{error}"
        );
    }
}
