//! "Log in with an OpenID provider": providers from configuration and the two routes,
//! `GET /auth/{provider}` and `GET /auth/{provider}/callback`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, web};
use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
use passport_actix::{ErrorBody, Outcome, failure_response};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::Auth;
use crate::configuration::ConfigError;
use crate::errors::unexpected;
use crate::store::{NewIdentity, Store};

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

/// The verify callback: the claims go to the route, which links them to a user.
type PassClaims = fn(OidcClaims) -> std::future::Ready<Outcome<OidcClaims>>;

fn pass_claims(claims: OidcClaims) -> std::future::Ready<Outcome<OidcClaims>> {
    std::future::ready(Outcome::success(claims))
}

/// The configured providers, by name.
#[derive(Clone, Default)]
pub struct Providers(Arc<BTreeMap<String, OidcStrategy<OidcClaims, PassClaims>>>);

impl Providers {
    /// Builds a strategy per configured provider (discovery happens at first use).
    pub fn build(settings: &OidcSettings) -> anyhow::Result<Self> {
        let key = match &settings.cookie_key {
            Some(key) => key.expose_secret().as_bytes().to_vec(),
            None => {
                use rand::Rng;
                rand::rng().random::<[u8; 32]>().to_vec()
            }
        };
        let mut providers = BTreeMap::new();
        for (name, provider) in &settings.providers {
            let mut config = OidcConfig::new(
                &provider.issuer,
                &provider.client_id,
                &provider.redirect_url,
                &key,
            )
            .map_err(|e| anyhow::anyhow!("OIDC provider {name}: {e}"))?
            .scopes(provider.scopes.clone())
            .cookie_name(&format!("passport_oidc_{name}"));
            if let Some(secret) = &provider.client_secret {
                config = config.client_secret(secret.clone());
            }
            if let Some(cooldown) = settings.jwks_cooldown {
                config = config.jwks_cooldown(cooldown);
            }
            providers.insert(
                name.clone(),
                OidcStrategy::new(config, pass_claims as PassClaims),
            );
        }
        Ok(Self(Arc::new(providers)))
    }

    fn get(&self, name: &str) -> Option<&OidcStrategy<OidcClaims, PassClaims>> {
        self.0.get(name)
    }
}

fn unknown_provider() -> HttpResponse {
    ErrorBody::new("unknown_provider", "No OpenID provider has this name")
        .response(StatusCode::NOT_FOUND)
}

/// `GET /auth/{provider}`: `302` to the provider, with the flow cookie.
pub async fn begin(path: web::Path<String>, providers: web::Data<Providers>) -> HttpResponse {
    let Some(strategy) = providers.get(&path) else {
        return unknown_provider();
    };
    match strategy.begin().await {
        Outcome::Redirect(redirect) => redirect.into_response(),
        Outcome::Error(error) => unexpected(error),
        Outcome::Fail(failure) => failure_response(&[failure]),
        Outcome::Success { .. } | Outcome::Pass => unexpected(passport_actix::StrategyError::msg(
            "OIDC first leg gave no redirect",
        )),
    }
}

/// `GET /auth/{provider}/callback`: like `/login`, a token pair and a new session.
pub async fn callback(
    req: HttpRequest,
    path: web::Path<String>,
    providers: web::Data<Providers>,
    store: web::Data<Store>,
    auth: web::Data<Auth>,
    audit: web::Data<crate::audit::Audit>,
) -> HttpResponse {
    let Some(strategy) = providers.get(&path) else {
        return unknown_provider();
    };
    // The flow cookie is deleted once the flow is over; a callback whose `state` is not this
    // browser's (a forged link) leaves the browser's own flow alone.
    let mut keep_cookie = false;
    let mut response = match strategy.callback(&req).await {
        Outcome::Success { user: claims, .. } => login(&req, &claims, &store, &auth, &audit).await,
        Outcome::Fail(failure) => {
            if let Some(reason) = failure.reason() {
                tracing::info!(provider = %path, code = failure.code(), reason, "OIDC login refused");
            }
            keep_cookie = failure.code() == "state_mismatch";
            failure_response(&[failure])
        }
        Outcome::Error(error) => unexpected(error),
        Outcome::Redirect(redirect) => redirect.into_response(),
        Outcome::Pass => unexpected(passport_actix::StrategyError::msg("OIDC callback passed")),
    };
    if !keep_cookie {
        let _ = response.add_cookie(&strategy.removal_cookie());
    }
    response.headers_mut().insert(
        CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}

/// Finds or creates the user of a verified identity and starts a session.
async fn login(
    req: &HttpRequest,
    claims: &OidcClaims,
    store: &Store,
    auth: &Auth,
    audit: &crate::audit::Audit,
) -> HttpResponse {
    let user = match store.identity_user(&claims.issuer, &claims.subject).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            // A new identity: a new account, only for a verified email nobody has.
            let email = match (&claims.email, claims.email_verified) {
                (Some(email), Some(true)) => {
                    passport_actix::local::normalize_email(email).unwrap_or_default()
                }
                _ => String::new(),
            };
            if email.is_empty() {
                return ErrorBody::new(
                    "email_not_verified",
                    "The provider did not give a verified email address for this account",
                )
                .response(StatusCode::FORBIDDEN);
            }
            match store
                .create_identity_user(&claims.issuer, &claims.subject, &email)
                .await
            {
                Ok(NewIdentity::User(user)) => {
                    tracing::info!(user_id = %user.id, "user created by an OpenID login");
                    user
                }
                Ok(NewIdentity::EmailTaken) => {
                    return ErrorBody::new(
                        "account_exists",
                        "An account with this email already exists; it is not linked automatically",
                    )
                    .response(StatusCode::CONFLICT);
                }
                Err(error) => {
                    return unexpected(error.into_strategy_error("creating an OIDC user"));
                }
            }
        }
        Err(error) => return unexpected(error.into_strategy_error("finding an OIDC identity")),
    };
    crate::routes::complete_login(req, auth, audit, user, crate::routes::LoginMethod::OpenId).await
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
