//! OpenID Connect Discovery 1.0: the provider's metadata from
//! `{issuer}/.well-known/openid-configuration`.

use std::time::Duration;

use serde::Deserialize;

use super::error::OidcError;

/// The largest discovery document accepted.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// The parts of a provider's discovery document this crate uses.
///
/// # Examples
///
/// ```
/// use passport_actix::oidc::ProviderMetadata;
///
/// let metadata: ProviderMetadata = serde_json::from_str(r#"{
///     "issuer": "https://accounts.example.com",
///     "authorization_endpoint": "https://accounts.example.com/authorize",
///     "token_endpoint": "https://accounts.example.com/token",
///     "jwks_uri": "https://accounts.example.com/jwks",
///     "code_challenge_methods_supported": ["S256"]
/// }"#).unwrap();
/// assert_eq!(metadata.jwks_uri, "https://accounts.example.com/jwks");
/// ```
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer; equal to the configured issuer (checked).
    pub issuer: String,
    /// Where the browser is sent to log in.
    pub authorization_endpoint: String,
    /// Where codes are exchanged for tokens.
    pub token_endpoint: String,
    /// The provider's public keys.
    pub jwks_uri: String,
    /// The PKCE methods the provider supports, when it says.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// Refuses anything but https, or http on a loopback host.
pub(super) fn check_url(url: &str) -> Result<(), OidcError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| OidcError::BadUrl(format!("{url}: {e}")))?;
    crate::outbound::https_or_loopback(&parsed).map_err(|_| {
        OidcError::BadUrl(format!(
            "{url}: https required (plain http only on loopback)"
        ))
    })
}

/// Fetches and checks the discovery document of `issuer`.
pub(super) async fn fetch(
    client: &reqwest::Client,
    issuer: &str,
    timeout: Duration,
) -> Result<ProviderMetadata, OidcError> {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let unreachable = |e: reqwest::Error| OidcError::Unreachable(e.without_url().to_string());
    let mut response = client
        .get(&url)
        .timeout(timeout)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(OidcError::Unreachable(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(OidcError::BadDiscovery("document too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    parse(&body, issuer)
}

/// Parses a discovery document and checks it against the configured issuer.
pub(super) fn parse(body: &[u8], issuer: &str) -> Result<ProviderMetadata, OidcError> {
    let metadata: ProviderMetadata =
        serde_json::from_slice(body).map_err(|e| OidcError::BadDiscovery(e.to_string()))?;
    // Discovery §4.3: the issuer in the document must be exactly the one asked for.
    if metadata.issuer.trim_end_matches('/') != issuer {
        return Err(OidcError::BadDiscovery(format!(
            "issuer {} is not {issuer}",
            metadata.issuer
        )));
    }
    for endpoint in [
        &metadata.authorization_endpoint,
        &metadata.token_endpoint,
        &metadata.jwks_uri,
    ] {
        check_url(endpoint).map_err(|e| OidcError::BadDiscovery(e.to_string()))?;
    }
    if let Some(methods) = &metadata.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(OidcError::BadDiscovery(
            "the provider does not support PKCE S256".into(),
        ));
    }
    Ok(metadata)
}
