//! The OpenID Connect strategy ("log in with any OpenID provider"), feature `oidc`.
//!
//! [`OidcStrategy`] runs the authorization code flow with PKCE (S256) against a provider found
//! by discovery (`{issuer}/.well-known/openid-configuration`):
//!
//! 1. **First leg** (a request without `code`, `state` or `error`): the strategy answers
//!    [`Outcome::Redirect`] to the provider's authorization endpoint, and sets a short-lived,
//!    HMAC-signed, `HttpOnly`, `SameSite=Lax` cookie holding the `state`, the `nonce` and the
//!    PKCE verifier. Nothing is stored on the server.
//! 2. **Callback leg** (the provider sends the browser back with `code` and `state`): the
//!    cookie's signature, age and `state` are checked, the code is exchanged (with the PKCE
//!    verifier) at the token endpoint, and the ID token is verified: signature by the
//!    provider's JWKS (a [`RemoteKeySet`], refetched on an unknown `kid`), the algorithm taken
//!    from the key, `iss`, `aud`, `azp`, `exp`, `iat` and `nonce`. The verify callback then
//!    receives the [`OidcClaims`] and answers the [`Outcome`].
//!
//! The OAuth 2.0 pieces (PKCE, `state`, the authorization URL, the code exchange and its
//! error responses) are the [`oauth2`] crate's; ID-token verification is this crate's
//! [`JwtVerifier`] over a [`RemoteKeySet`].
//!
//! Failure codes of the callback leg (all JSON `{"error","message"}` through the responder):
//!
//! | status | code | when |
//! | --- | --- | --- |
//! | 400 | `missing_state_cookie` | the browser sent no flow cookie (expired, or another browser) |
//! | 400 | `invalid_state_cookie` | the cookie's signature or format is wrong, or it is too old |
//! | 400 | `state_mismatch` | the `state` parameter is missing or differs from the cookie's |
//! | 400 | `missing_code` | no `code` parameter |
//! | 401 | `provider_error` | the provider answered `?error=…` (for example `access_denied`), with this flow's cookie and `state` |
//! | 401 | `code_rejected` | the token endpoint refused the code (replayed, expired, wrong client) |
//! | 401 | `invalid_id_token` | the ID token is missing or fails verification |
//! | 503 | `service_unavailable` | the provider cannot be reached (discovery, token endpoint or JWKS) |

mod cookie;
mod discovery;
mod error;

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::StrategyError;
use crate::jwt::{JwtVerifier, RemoteKeySet, TokenError};
use crate::outcome::{Failure, Outcome, Redirect};
use crate::request::AuthRequest;
use crate::strategy::Authenticate;

pub use cookie::MIN_COOKIE_KEY_BYTES;
pub use discovery::ProviderMetadata;
pub use error::OidcError;

use cookie::FlowState;

/// The default lifetime of the flow cookie: the time a user has to log in at the provider.
pub const DEFAULT_FLOW_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The configuration of one OpenID provider.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::oidc::OidcConfig;
///
/// let config = OidcConfig::new(
///     "https://accounts.example.com/",
///     "my-client",
///     "https://app.example.com/auth/example/callback",
///     &[7u8; 32], // use 32 random bytes from your secret store
/// )
/// .unwrap()
/// .scopes(["email"])
/// .flow_lifetime(Duration::from_secs(300));
/// assert_eq!(config.issuer(), "https://accounts.example.com");
/// assert_eq!(config.client_id(), "my-client");
/// ```
#[derive(Clone)]
pub struct OidcConfig {
    issuer: String,
    client_id: String,
    client_secret: Option<SecretString>,
    redirect_url: String,
    scopes: Vec<String>,
    cookie_key: Arc<[u8]>,
    cookie_name: String,
    flow_lifetime: Duration,
    timeout: Duration,
    jwks_cooldown: Option<Duration>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl OidcConfig {
    /// A provider at `issuer` (https, or http on a loopback host), for the client `client_id`
    /// whose callback is `redirect_url`, signing its flow cookie with `cookie_key` (at least
    /// [`MIN_COOKIE_KEY_BYTES`] random bytes). Scopes default to `openid email profile`; the
    /// cookie is named `passport_oidc` and lives [`DEFAULT_FLOW_LIFETIME`].
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::oidc::OidcConfig;
    ///
    /// let config = OidcConfig::new(
    ///     "http://127.0.0.1:9000", // plain http only on a loopback host (a local test provider)
    ///     "my-client",
    ///     "http://127.0.0.1:8080/auth/callback",
    ///     &[7u8; 32],
    /// ).unwrap();
    /// assert_eq!(config.issuer(), "http://127.0.0.1:9000");
    /// ```
    pub fn new(
        issuer: &str,
        client_id: &str,
        redirect_url: &str,
        cookie_key: &[u8],
    ) -> Result<Self, OidcError> {
        discovery::check_url(issuer)?;
        let redirect = oauth2::url::Url::parse(redirect_url)
            .map_err(|e| OidcError::BadUrl(format!("{redirect_url}: {e}")))?;
        if !matches!(redirect.scheme(), "http" | "https") {
            return Err(OidcError::BadUrl(redirect_url.to_owned()));
        }
        if cookie_key.len() < MIN_COOKIE_KEY_BYTES {
            return Err(OidcError::ShortCookieKey);
        }
        Ok(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            redirect_url: redirect_url.to_owned(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            cookie_key: Arc::from(cookie_key),
            cookie_name: "passport_oidc".into(),
            flow_lifetime: DEFAULT_FLOW_LIFETIME,
            timeout: Duration::from_secs(5),
            jwks_cooldown: None,
        })
    }

    /// Sets the client secret (sent with HTTP Basic authentication at the token endpoint).
    /// Without one the client is public and PKCE alone protects the code.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::oidc::OidcConfig;
    /// use secrecy::SecretString;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32])
    ///     .unwrap()
    ///     .client_secret(SecretString::from("s3cr3t"));
    /// assert!(!format!("{config:?}").contains("s3cr3t"));
    /// ```
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Sets the scopes requested; `openid` is always added.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::oidc::OidcConfig;
    ///
    /// // Requests `openid email` (openid is always added).
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32])
    ///     .unwrap()
    ///     .scopes(["email"]);
    /// # let _ = config;
    /// ```
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        let mut list: Vec<String> = vec!["openid".into()];
        for scope in scopes {
            let scope = scope.into();
            if !scope.is_empty() && !list.contains(&scope) {
                list.push(scope);
            }
        }
        self.scopes = list;
        self
    }

    /// Sets the flow cookie's name (give each provider its own when several flows may run
    /// in one browser at once).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::oidc::OidcConfig;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32])
    ///     .unwrap()
    ///     .cookie_name("oidc_example");
    /// # let _ = config;
    /// ```
    pub fn cookie_name(mut self, name: &str) -> Self {
        self.cookie_name = name.to_owned();
        self
    }

    /// Sets how long the user has between the redirect and the callback (default 10 min).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::oidc::OidcConfig;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32])
    ///     .unwrap()
    ///     .flow_lifetime(Duration::from_secs(5 * 60));
    /// # let _ = config;
    /// ```
    pub fn flow_lifetime(mut self, lifetime: Duration) -> Self {
        self.flow_lifetime = lifetime;
        self
    }

    /// Sets the timeout of every request to the provider (default 5 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::oidc::OidcConfig;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32])
    ///     .unwrap()
    ///     .timeout(Duration::from_secs(3));
    /// # let _ = config;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the shortest time between two JWKS fetches caused by an unknown `kid` (default
    /// the [`RemoteKeySet`]'s 30 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::oidc::OidcConfig;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32])
    ///     .unwrap()
    ///     .jwks_cooldown(Duration::from_secs(60));
    /// # let _ = config;
    /// ```
    pub fn jwks_cooldown(mut self, cooldown: Duration) -> Self {
        self.jwks_cooldown = Some(cooldown);
        self
    }

    /// The issuer, as configured (without a trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// What a verified ID token says, handed to the verify callback.
///
/// # Examples
///
/// ```
/// use passport_actix::oidc::OidcClaims;
/// use passport_actix::{Failure, Outcome};
///
/// /// The verify callback's logic: only verified emails get in.
/// fn to_user(claims: OidcClaims) -> Outcome<String> {
///     match (claims.email, claims.email_verified) {
///         (Some(email), Some(true)) => Outcome::success(email),
///         _ => Outcome::Fail(Failure::unauthorized("email_unverified", "A verified email is required")),
///     }
/// }
///
/// let claims = OidcClaims {
///     issuer: "https://accounts.example.com".into(),
///     subject: "248289761001".into(),
///     email: Some("ada@example.com".into()),
///     email_verified: Some(true),
///     name: Some("Ada".into()),
///     extra: Default::default(),
/// };
/// assert!(matches!(to_user(claims), Outcome::Success { user, .. } if user == "ada@example.com"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OidcClaims {
    /// The issuer (`iss`), equal to the configured issuer.
    pub issuer: String,
    /// The subject (`sub`): with the issuer, the stable identity of the user.
    pub subject: String,
    /// The `email` claim, if the provider sent one.
    pub email: Option<String>,
    /// The `email_verified` claim, if the provider sent one.
    pub email_verified: Option<bool>,
    /// The `name` claim, if the provider sent one.
    pub name: Option<String>,
    /// Every other claim of the ID token.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Claims of an ID token beyond the registered ones.
#[derive(Debug, Clone, Deserialize)]
struct IdTokenExtra {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// The token endpoint's answer: the standard fields plus `id_token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenFields {}

type TokenResponse = StandardTokenResponse<IdTokenFields, BasicTokenType>;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// What discovery yields: the OAuth client and the ID-token verifier.
struct Provider {
    metadata: ProviderMetadata,
    client: OAuthClient,
    verifier: JwtVerifier,
    keys: RemoteKeySet,
}

/// The OpenID Connect strategy; see the [module documentation](self).
///
/// # Examples
///
/// ```
/// use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
/// use passport_actix::{Outcome, Passport};
///
/// let config = OidcConfig::new(
///     "https://accounts.example.com",
///     "my-client",
///     "https://app.example.com/auth/example/callback",
///     &[7u8; 32],
/// ).unwrap();
/// let strategy = OidcStrategy::new(config, |claims: OidcClaims| async move {
///     Outcome::success(format!("{}|{}", claims.issuer, claims.subject))
/// });
/// let mut passport = Passport::<String>::new();
/// passport.register("example", strategy);
/// ```
pub struct OidcStrategy<U, F> {
    config: OidcConfig,
    http: reqwest::Client,
    provider: tokio::sync::OnceCell<Arc<Provider>>,
    verify: F,
    _user: PhantomData<fn() -> U>,
}

impl<U, F, Fut> OidcStrategy<U, F>
where
    U: 'static,
    F: Fn(OidcClaims) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome<U>> + 'static,
{
    /// A strategy for `config`; discovery happens at the first request (or at
    /// [`discover`](Self::discover)), and is retried until it succeeds, so a provider that is
    /// down at startup only makes the requests that need it fail with `503`.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
    /// use passport_actix::Outcome;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32]).unwrap();
    /// // Nothing is fetched yet: discovery happens at the first request.
    /// let strategy = OidcStrategy::new(config, |claims: OidcClaims| async move { Outcome::success(claims.subject) });
    /// assert_eq!(strategy.config().client_id(), "my-client");
    /// ```
    pub fn new(config: OidcConfig, verify: F) -> Self {
        let http = crate::outbound::client(config.timeout);
        Self {
            config,
            http,
            provider: tokio::sync::OnceCell::new(),
            verify,
            _user: PhantomData,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Fetches the discovery document now (if it has not been fetched yet) and returns it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
    /// use passport_actix::Outcome;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32]).unwrap();
    /// let strategy = OidcStrategy::new(config, |claims: OidcClaims| async move { Outcome::success(claims.subject) });
    /// // Fail at start-up rather than at the first login if the provider is misconfigured.
    /// let metadata = strategy.discover().await.expect("the provider answers discovery");
    /// println!("logging in at {}", metadata.authorization_endpoint);
    /// # });
    /// ```
    pub async fn discover(&self) -> Result<&ProviderMetadata, OidcError> {
        Ok(&self.provider().await?.metadata)
    }

    async fn provider(&self) -> Result<&Arc<Provider>, OidcError> {
        self.provider
            .get_or_try_init(|| async {
                let metadata =
                    discovery::fetch(&self.http, &self.config.issuer, self.config.timeout).await?;
                build_provider(&self.config, metadata).map(Arc::new)
            })
            .await
    }

    /// A cookie that deletes the flow cookie (set it on the callback's response).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
    /// use passport_actix::Outcome;
    ///
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/auth/cb", &[7u8; 32]).unwrap();
    /// let strategy = OidcStrategy::new(config, |claims: OidcClaims| async move { Outcome::success(claims.subject) });
    /// let cookie = strategy.removal_cookie();
    /// assert_eq!(cookie.name(), "passport_oidc");
    /// assert_eq!(cookie.path(), Some("/auth/cb"));
    /// ```
    pub fn removal_cookie(&self) -> Cookie<'static> {
        let mut cookie = self.base_cookie(String::new());
        cookie.make_removal();
        cookie
    }

    fn base_cookie(&self, value: String) -> Cookie<'static> {
        let redirect = oauth2::url::Url::parse(&self.config.redirect_url).ok();
        let path = redirect
            .as_ref()
            .map(|url| url.path().to_owned())
            .unwrap_or_else(|| "/".into());
        let secure = redirect.as_ref().is_some_and(|url| url.scheme() == "https");
        Cookie::build(self.config.cookie_name.clone(), value)
            .path(path)
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish()
    }

    /// The first leg: a redirect to the provider, with the flow cookie.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
    /// use passport_actix::Outcome;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let config = OidcConfig::new("https://accounts.example.com", "my-client", "https://app.example.com/cb", &[7u8; 32]).unwrap();
    /// let strategy = OidcStrategy::new(config, |claims: OidcClaims| async move { Outcome::success(claims.subject) });
    /// let Outcome::Redirect(redirect) = strategy.begin().await else { panic!("the provider is down") };
    /// assert!(redirect.location.starts_with("https://accounts.example.com/"));
    /// # });
    /// ```
    pub async fn begin(&self) -> Outcome<U> {
        let provider = match self.provider().await {
            Ok(provider) => provider,
            Err(error) => return unavailable(error),
        };
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random();
        let mut request = provider
            .client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_extra_param("nonce", nonce.secret().as_str());
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state) = request.url();
        let flow = FlowState {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            expires: crate::clock::now_secs().saturating_add(self.config.flow_lifetime.as_secs()),
        };
        let value = cookie::seal(&self.config.cookie_key, &self.config.cookie_name, &flow);
        let mut cookie = self.base_cookie(value);
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
            i64::try_from(self.config.flow_lifetime.as_secs()).unwrap_or(600),
        ));
        Outcome::Redirect(Redirect::to(url.to_string()).cookie(cookie))
    }

    /// The callback leg: checks the flow cookie and `state`, exchanges the code, verifies
    /// the ID token and runs the verify callback.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use actix_web::{HttpRequest, HttpResponse};
    /// use passport_actix::oidc::{OidcClaims, OidcConfig, OidcStrategy};
    /// use passport_actix::Outcome;
    ///
    /// type Strategy = OidcStrategy<String, fn(OidcClaims) -> std::future::Ready<Outcome<String>>>;
    ///
    /// async fn on_callback(req: HttpRequest, strategy: &Strategy) -> HttpResponse {
    ///     match strategy.callback(&req).await {
    ///         Outcome::Success { user, .. } => HttpResponse::Ok().cookie(strategy.removal_cookie()).body(user),
    ///         _ => HttpResponse::Unauthorized().finish(),
    ///     }
    /// }
    /// ```
    pub async fn callback(&self, req: &HttpRequest) -> Outcome<U> {
        match self.callback_claims(req).await {
            Ok(claims) => (self.verify)(claims).await,
            Err(outcome) => outcome,
        }
    }

    async fn callback_claims(&self, req: &HttpRequest) -> Result<OidcClaims, Outcome<U>> {
        let query = Query::parse(req.query_string());
        let Some(cookie) = req.cookie(&self.config.cookie_name) else {
            return Err(fail(Failure::bad_request(
                "missing_state_cookie",
                "The login flow cookie is missing: start the login again from this browser",
            )));
        };
        let Some(flow) = cookie::open(
            &self.config.cookie_key,
            &self.config.cookie_name,
            cookie.value(),
            crate::clock::now_secs(),
        ) else {
            return Err(fail(Failure::bad_request(
                "invalid_state_cookie",
                "The login flow cookie is invalid or expired: start the login again",
            )));
        };
        let state_ok = query
            .state
            .as_deref()
            .is_some_and(|state| crate::constant_time_eq(state.as_bytes(), flow.state.as_bytes()));
        if !state_ok {
            return Err(fail(Failure::bad_request(
                "state_mismatch",
                "The state parameter is missing or does not match this browser's login flow",
            )));
        }
        // Only now, with this browser's flow cookie and `state` checked: a `?error=` from
        // anywhere else (a forged link) is a `state_mismatch`, which leaves the flow alone.
        if let Some(error) = &query.error {
            // The provider's code is echoed only when it is a plain RFC 6749 token.
            let shown: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            return Err(fail(
                Failure::unauthorized(
                    "provider_error",
                    format!("The provider refused the login: {shown}"),
                )
                .with_reason(format!(
                    "provider error {shown}: {}",
                    query.error_description.as_deref().unwrap_or("")
                )),
            ));
        }
        let Some(code) = query.code else {
            return Err(fail(Failure::bad_request(
                "missing_code",
                "The callback carries no authorization code",
            )));
        };
        let provider = self.provider().await.map_err(unavailable)?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await;
        let tokens = match response {
            Ok(tokens) => tokens,
            Err(RequestTokenError::ServerResponse(error)) => {
                let unauthorized = matches!(
                    error.error(),
                    BasicErrorResponseType::InvalidGrant
                        | BasicErrorResponseType::InvalidClient
                        | BasicErrorResponseType::UnauthorizedClient
                );
                let failure = if unauthorized {
                    Failure::unauthorized(
                        "code_rejected",
                        "The provider refused the authorization code (used, expired or not ours)",
                    )
                } else {
                    Failure::unauthorized("code_rejected", "The provider refused the code exchange")
                };
                return Err(fail(failure.with_reason(format!(
                    "token endpoint: {}",
                    error.error().as_ref()
                ))));
            }
            Err(RequestTokenError::Request(error)) => {
                return Err(Outcome::Error(StrategyError::unavailable(
                    "OIDC token endpoint unreachable",
                    error.to_string(),
                )));
            }
            Err(error) => {
                return Err(Outcome::Error(StrategyError::unavailable(
                    "OIDC token endpoint answered something unexpected",
                    error.to_string(),
                )));
            }
        };
        let Some(id_token) = tokens.extra_fields().id_token.as_deref() else {
            return Err(fail(Failure::unauthorized(
                "invalid_id_token",
                "The provider sent no ID token",
            )));
        };
        self.verify_id_token(provider, id_token, &flow.nonce)
            .await
            .map_err(|reason| {
                fail(
                    Failure::unauthorized("invalid_id_token", "The provider's ID token is invalid")
                        .with_reason(reason),
                )
            })
    }

    async fn verify_id_token(
        &self,
        provider: &Provider,
        token: &str,
        nonce: &str,
    ) -> Result<OidcClaims, Cow<'static, str>> {
        provider.keys.refresh_if_stale().await;
        let claims = match provider.verifier.verify::<IdTokenExtra>(token) {
            Err(TokenError::UnknownKey) if provider.keys.refresh_for_unknown_kid().await => {
                provider.verifier.verify::<IdTokenExtra>(token)
            }
            other => other,
        }
        .map_err(|e| Cow::Owned(format!("ID token: {e}")))?;
        check_id_token_claims(&claims, &self.config.client_id, nonce)?;
        Ok(OidcClaims {
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.custom.email,
            email_verified: claims.custom.email_verified,
            name: claims.custom.name,
            extra: claims.custom.rest,
        })
    }
}

/// The checks an ID token needs beyond the JWT verifier's (OpenID Connect Core §3.1.3.7):
/// `azp` when there are several audiences or when present, and the `nonce`.
fn check_id_token_claims(
    claims: &crate::jwt::Claims<IdTokenExtra>,
    client_id: &str,
    nonce: &str,
) -> Result<(), Cow<'static, str>> {
    let several = matches!(&claims.aud, crate::jwt::Audience::Many(list) if list.len() > 1);
    match claims.custom.azp.as_deref() {
        Some(azp) if azp != client_id => return Err("azp names another client".into()),
        None if several => return Err("several audiences and no azp".into()),
        _ => {}
    }
    let nonce_ok = claims
        .custom
        .nonce
        .as_deref()
        .is_some_and(|n| crate::constant_time_eq(n.as_bytes(), nonce.as_bytes()));
    if !nonce_ok {
        return Err("nonce missing or not this flow's".into());
    }
    Ok(())
}

fn build_provider(config: &OidcConfig, metadata: ProviderMetadata) -> Result<Provider, OidcError> {
    let bad = |e: oauth2::url::ParseError| OidcError::BadDiscovery(e.to_string());
    let mut client: OAuthClient = oauth2::Client::<
        BasicErrorResponse,
        TokenResponse,
        BasicTokenIntrospectionResponse,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
    >::new(ClientId::new(config.client_id.clone()))
    .set_auth_uri(AuthUrl::new(metadata.authorization_endpoint.clone()).map_err(bad)?)
    .set_token_uri(TokenUrl::new(metadata.token_endpoint.clone()).map_err(bad)?)
    .set_redirect_uri(RedirectUrl::new(config.redirect_url.clone()).map_err(bad)?);
    if let Some(secret) = &config.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
    }
    let mut keys = RemoteKeySet::new(&metadata.jwks_uri)
        .map_err(|e| OidcError::BadDiscovery(format!("jwks_uri: {e}")))?
        .timeout(config.timeout);
    if let Some(cooldown) = config.jwks_cooldown {
        keys = keys.unknown_kid_cooldown(cooldown);
    }
    let verifier =
        JwtVerifier::with_remote_key_set(keys.clone(), &metadata.issuer, &config.client_id);
    Ok(Provider {
        metadata,
        client,
        verifier,
        keys,
    })
}

fn fail<U>(failure: Failure) -> Outcome<U> {
    Outcome::Fail(failure)
}

fn unavailable<U>(error: OidcError) -> Outcome<U> {
    Outcome::Error(StrategyError::unavailable(
        "OpenID provider unavailable",
        error,
    ))
}

/// The callback's query parameters (the first of each; later duplicates are ignored).
#[derive(Default)]
struct Query {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Query {
    fn parse(query: &str) -> Self {
        let mut out = Self::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*key {
                "code" => &mut out.code,
                "state" => &mut out.state,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        out
    }

    fn is_callback(&self) -> bool {
        self.code.is_some() || self.state.is_some() || self.error.is_some()
    }
}

impl<U, F, Fut> Authenticate<U> for OidcStrategy<U, F>
where
    U: 'static,
    F: Fn(OidcClaims) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome<U>> + 'static,
{
    /// A request with `code`, `state` or `error` in its query is a callback; any other
    /// starts the flow.
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<U> {
        if Query::parse(req.http().query_string()).is_callback() {
            self.callback(req.http()).await
        } else {
            self.begin().await
        }
    }
}

#[cfg(test)]
mod tests;
