//! "Log in with an OpenID provider": the providers from the settings ([`Providers`]), the
//! section ([`settings`]) and the linking of a verified identity to an account
//! ([`linking`]). The two routes are in `routes/oidc.rs`.

pub mod linking;
pub mod settings;

use std::collections::BTreeMap;
use std::sync::Arc;

use passport_actix::Outcome;
use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
use secrecy::ExposeSecret;

use self::settings::OidcSettings;

/// The verify callback: the claims go to the route, which links them to a user.
pub type PassClaims = fn(OidcClaims) -> std::future::Ready<Outcome<OidcClaims>>;

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

    /// The strategy of the provider called `name`.
    pub fn get(&self, name: &str) -> Option<&OidcStrategy<OidcClaims, PassClaims>> {
        self.0.get(name)
    }
}
