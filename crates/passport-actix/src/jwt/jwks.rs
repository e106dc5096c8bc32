//! A remote JWKS: the public keys of an issuer, fetched from its `jwks.json` URL, cached per
//! `max-age`, refetched on an unknown `kid` at most once per cooldown, and served stale for a
//! while when the issuer is down.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::jwt::keys::{KeyError, KeySet};
use crate::outbound::Refused;

/// Why a JWKS fetch failed; the key set in use is kept.
///
/// # Examples
///
/// ```
/// use passport_actix::jwt::{JwksError, RemoteKeySet};
///
/// assert!(matches!(RemoteKeySet::new("http://auth.example.com/jwks.json"), Err(JwksError::InsecureUrl(_))));
/// assert!(matches!(RemoteKeySet::new("not a url"), Err(JwksError::BadUrl(_))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The URL is not `https://` (plain `http://` is only accepted for loopback hosts, or with
    /// [`RemoteKeySet::allow_plain_http`]).
    #[error("the JWKS URL must use https (plain http only on loopback): {0}")]
    InsecureUrl(String),
    /// The URL does not parse.
    #[error("invalid JWKS URL: {0}")]
    BadUrl(String),
    /// The issuer could not be reached, or did not answer within the timeout.
    #[error("fetching the JWKS failed: {0}")]
    Fetch(String),
    /// The issuer answered with another status than `200`.
    #[error("the JWKS URL answered with status {0}")]
    Status(u16),
    /// The response is larger than the bound.
    #[error("the JWKS is larger than {0} bytes")]
    TooLarge(usize),
    /// The document was refused (not JSON, duplicate `kid`, private members, ...).
    #[error(transparent)]
    Invalid(#[from] KeyError),
}

/// The limits of a [`RemoteKeySet`].
#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    max_bytes: usize,
    min_max_age: Duration,
    max_max_age: Duration,
    default_max_age: Duration,
    unknown_kid_cooldown: Duration,
    stale_for: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_bytes: 64 * 1024,
            min_max_age: Duration::from_secs(60),
            max_max_age: Duration::from_secs(24 * 3600),
            default_max_age: Duration::from_secs(300),
            unknown_kid_cooldown: Duration::from_secs(30),
            stale_for: Duration::from_secs(3600),
        }
    }
}

#[derive(Default)]
struct State {
    keys: Arc<KeySet>,
    /// When the last good document was fetched.
    fetched_at: Option<Instant>,
    /// Until when that document is fresh (its clamped `max-age`).
    fresh_until: Option<Instant>,
    /// When the last fetch was attempted, whatever its outcome.
    attempted_at: Option<Instant>,
    /// Why the last attempt failed, if it did.
    last_error: Option<JwksError>,
}

/// The public keys of a remote issuer, from its JWKS URL, for
/// [`JwtVerifier::with_remote_key_set`](crate::jwt::JwtVerifier::with_remote_key_set).
/// Cloning shares the cache.
///
/// - The document is cached for its `Cache-Control: max-age` (clamped between 60 s and 24 h;
///   5 min when absent), then refetched on the next request that needs a key.
/// - A token whose `kid` is unknown triggers a refetch, at most once per cooldown (30 s by
///   default), so a flood of random `kid`s cannot hammer the issuer.
/// - Fetches are bounded (5 s, 64 KiB by default) and single-flight: concurrent requests wait
///   for one fetch.
/// - A document that is refused (not JSON, too large, duplicate `kid`s, unknown `kty`, private
///   members, `alg` contradicting the key type) or a failed fetch keeps the previous key set;
///   keys are served stale for at most one hour (by default) past their freshness, then
///   dropped, so every token is refused until the issuer answers again.
/// - `jku`, `x5u` and `jwk` token headers are never followed: the only URL is this one.
///
/// # Examples
///
/// ```no_run
/// use passport_actix::jwt::{JwtVerifier, RemoteKeySet};
///
/// let keys = RemoteKeySet::new("https://auth.example.com/.well-known/jwks.json").unwrap();
/// let verifier = JwtVerifier::with_remote_key_set(keys, "passport-server", "passport-api");
/// ```
#[derive(Clone)]
pub struct RemoteKeySet {
    inner: Arc<Inner>,
}

struct Inner {
    url: reqwest::Url,
    client: reqwest::Client,
    limits: Limits,
    state: RwLock<State>,
    /// Held while fetching: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl fmt::Debug for RemoteKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = self.current();
        f.debug_struct("RemoteKeySet")
            .field("url", &self.inner.url.as_str())
            .field("keys", &keys.keys())
            .finish_non_exhaustive()
    }
}

impl RemoteKeySet {
    /// A key set fetched from `url` (https, or http on a loopback host), with the default
    /// limits. Nothing is fetched until a token needs a key or [`refresh`](Self::refresh)
    /// is called.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// assert!(RemoteKeySet::new("https://auth.example.com/.well-known/jwks.json").is_ok());
    /// assert!(RemoteKeySet::new("http://127.0.0.1:8080/.well-known/jwks.json").is_ok(), "loopback");
    /// assert!(RemoteKeySet::new("http://auth.example.com/.well-known/jwks.json").is_err());
    /// ```
    pub fn new(url: &str) -> Result<Self, JwksError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| JwksError::BadUrl(e.to_string()))?;
        match crate::outbound::https_or_loopback(&parsed) {
            Ok(()) => {}
            Err(Refused::PlainHttp) => return Err(JwksError::InsecureUrl(url.to_owned())),
            Err(Refused::Scheme(other)) => {
                return Err(JwksError::BadUrl(format!("unsupported scheme {other}")));
            }
        }
        Ok(Self::build(parsed, Limits::default()))
    }

    /// Accepts a plain `http://` URL on any host (for a JWKS served inside a trusted network
    /// only: anyone on the path could substitute keys).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// let keys = RemoteKeySet::allow_plain_http("http://auth.internal:8080/.well-known/jwks.json").unwrap();
    /// assert_eq!(keys.url(), "http://auth.internal:8080/.well-known/jwks.json");
    /// ```
    pub fn allow_plain_http(url: &str) -> Result<Self, JwksError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| JwksError::BadUrl(e.to_string()))?;
        match parsed.scheme() {
            "https" | "http" => Ok(Self::build(parsed, Limits::default())),
            other => Err(JwksError::BadUrl(format!("unsupported scheme {other}"))),
        }
    }

    fn build(url: reqwest::Url, limits: Limits) -> Self {
        Self {
            inner: Arc::new(Inner {
                url,
                client: crate::outbound::client(limits.timeout),
                limits,
                state: RwLock::new(State::default()),
                fetching: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn with_limits(self, change: impl FnOnce(&mut Limits)) -> Self {
        let mut limits = self.inner.limits;
        change(&mut limits);
        Self::build(self.inner.url.clone(), limits)
    }

    /// Sets the fetch timeout (connect and read; default 5 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// let keys = RemoteKeySet::new("https://auth.example.com/jwks.json").unwrap().timeout(Duration::from_secs(2));
    /// # let _ = keys;
    /// ```
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with_limits(|l| l.timeout = timeout)
    }

    /// Sets the largest document accepted (default 64 KiB).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// let keys = RemoteKeySet::new("https://auth.example.com/jwks.json").unwrap().max_bytes(16 * 1024);
    /// # let _ = keys;
    /// ```
    pub fn max_bytes(self, bytes: usize) -> Self {
        self.with_limits(|l| l.max_bytes = bytes)
    }

    /// Sets the bounds applied to the issuer's `max-age` (default 60 s to 24 h) and the
    /// freshness assumed when it sends none (default 300 s, clamped to the bounds).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// let minute = Duration::from_secs(60);
    /// let keys = RemoteKeySet::new("https://auth.example.com/jwks.json").unwrap()
    ///     .max_age(minute, 10 * minute, 60 * minute);
    /// # let _ = keys;
    /// ```
    pub fn max_age(self, min: Duration, default: Duration, max: Duration) -> Self {
        self.with_limits(|l| {
            l.min_max_age = min;
            l.max_max_age = max.max(min);
            l.default_max_age = default;
        })
    }

    /// Sets the shortest time between two fetches caused by unknown `kid`s or failures
    /// (default 30 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// let keys = RemoteKeySet::new("https://auth.example.com/jwks.json").unwrap()
    ///     .unknown_kid_cooldown(Duration::from_secs(10));
    /// # let _ = keys;
    /// ```
    pub fn unknown_kid_cooldown(self, cooldown: Duration) -> Self {
        self.with_limits(|l| l.unknown_kid_cooldown = cooldown)
    }

    /// Sets how long keys are still served past their freshness while the issuer cannot be
    /// fetched (default 1 h).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// let keys = RemoteKeySet::new("https://auth.example.com/jwks.json").unwrap()
    ///     .stale_for(Duration::from_secs(6 * 3600));
    /// assert!(keys.current().is_empty(), "nothing fetched yet");
    /// assert!(keys.last_error().is_none());
    /// ```
    pub fn stale_for(self, stale_for: Duration) -> Self {
        self.with_limits(|l| l.stale_for = stale_for)
    }

    /// The URL fetched.
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// The keys usable now: the last good document, unless it is older than its freshness
    /// plus the stale allowance (then none).
    pub fn current(&self) -> Arc<KeySet> {
        let state = self.read_state();
        match state.fresh_until {
            Some(until) if Instant::now() <= until + self.inner.limits.stale_for => {
                Arc::clone(&state.keys)
            }
            _ => Arc::default(),
        }
    }

    /// Why the last fetch failed, if it did.
    pub fn last_error(&self) -> Option<JwksError> {
        self.read_state().last_error.clone()
    }

    /// Fetches the document now (single-flight), whatever its freshness. A failure keeps the
    /// current keys.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use passport_actix::jwt::RemoteKeySet;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let keys = RemoteKeySet::new("https://auth.example.com/.well-known/jwks.json").unwrap();
    /// // Fetch at start-up, so the first request does not wait (and a bad URL shows at once).
    /// if let Err(error) = keys.refresh().await {
    ///     eprintln!("the JWKS is not reachable yet: {error}");
    /// }
    /// println!("{} keys", keys.current().keys().len());
    /// # });
    /// ```
    pub async fn refresh(&self) -> Result<(), JwksError> {
        let requested = Instant::now();
        let _guard = self.inner.fetching.lock().await;
        if self
            .read_state()
            .attempted_at
            .is_some_and(|at| at >= requested)
        {
            // Another caller fetched while this one waited.
            return match self.last_error() {
                None => Ok(()),
                Some(error) => Err(error),
            };
        }
        let result = self.fetch().await;
        let now = Instant::now();
        let mut state = self.write_state();
        state.attempted_at = Some(now);
        match result {
            Ok((keys, max_age)) => {
                state.keys = Arc::new(keys);
                state.fetched_at = Some(now);
                state.fresh_until = Some(now + max_age);
                state.last_error = None;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(url = %self.inner.url, %error, "JWKS refresh failed; keeping the current keys");
                state.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Refetches when the document is no longer fresh (after a failure, not before the
    /// cooldown has passed).
    pub(crate) async fn refresh_if_stale(&self) {
        let due = {
            let state = self.read_state();
            let now = Instant::now();
            let stale = state.fresh_until.is_none_or(|until| now >= until);
            // A document that expired is refetched at once; after a failed fetch, retries wait
            // for the cooldown.
            stale && (state.last_error.is_none() || self.cooled_down(&state, now))
        };
        if due {
            let _ = self.refresh().await;
        }
    }

    /// Refetches because a token names an unknown `kid`, at most once per cooldown. Whether
    /// a fetch succeeded (so that the token is worth verifying again).
    pub(crate) async fn refresh_for_unknown_kid(&self) -> bool {
        let due = self.cooled_down(&self.read_state(), Instant::now());
        due && self.refresh().await.is_ok()
    }

    fn cooled_down(&self, state: &State, now: Instant) -> bool {
        state
            .attempted_at
            .is_none_or(|at| now >= at + self.inner.limits.unknown_kid_cooldown)
    }

    async fn fetch(&self) -> Result<(KeySet, Duration), JwksError> {
        let limits = self.inner.limits;
        let fetch = |e: reqwest::Error| JwksError::Fetch(without_url(&e));
        let mut response = self
            .inner
            .client
            .get(self.inner.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(fetch)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > limits.max_bytes as u64)
        {
            return Err(JwksError::TooLarge(limits.max_bytes));
        }
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(cache_max_age)
            .unwrap_or(limits.default_max_age)
            .clamp(limits.min_max_age, limits.max_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            if body.len() + chunk.len() > limits.max_bytes {
                return Err(JwksError::TooLarge(limits.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((KeySet::from_jwks(&body)?, max_age))
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `max-age` from a `Cache-Control` value; `no-store`/`no-cache` count as zero.
fn cache_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            max_age = seconds
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// A reqwest error without its URL (which the log line already names once).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the body could not be read"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use actix_web::test::TestRequest;
    use serde_json::{Value, json};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::jwt::{
        Algorithm, Claims, ExtractJwt, JwtConfig, JwtStrategy, JwtVerifier, SigningKey,
    };
    use crate::outcome::Outcome;
    use crate::request::AuthRequest;
    use crate::strategy::Authenticate;

    /// What the test issuer answers.
    #[derive(Clone)]
    struct Reply {
        status: u16,
        body: Vec<u8>,
        cache_control: Option<String>,
        content_length: bool,
        delay: Duration,
    }

    /// A JWKS server on loopback that counts the requests it gets.
    struct Issuer {
        url: String,
        reply: Arc<Mutex<Reply>>,
        hits: Arc<AtomicUsize>,
    }

    impl Issuer {
        async fn start(body: Value) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!(
                "http://{}/.well-known/jwks.json",
                listener.local_addr().unwrap()
            );
            let reply = Arc::new(Mutex::new(Reply {
                status: 200,
                body: body.to_string().into_bytes(),
                cache_control: Some("public, max-age=300".to_owned()),
                content_length: true,
                delay: Duration::ZERO,
            }));
            let hits = Arc::new(AtomicUsize::new(0));
            let (shared, counter) = (Arc::clone(&reply), Arc::clone(&hits));
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let reply = shared.lock().unwrap().clone();
                    let counter = Arc::clone(&counter);
                    tokio::spawn(async move {
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(reply.delay).await;
                        let mut response = format!(
                            "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nConnection: close\r\n",
                            reply.status
                        );
                        if let Some(cache) = &reply.cache_control {
                            response.push_str(&format!("Cache-Control: {cache}\r\n"));
                        }
                        if reply.content_length {
                            response.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
                        }
                        response.push_str("\r\n");
                        let _ = stream.write_all(response.as_bytes()).await;
                        let _ = stream.write_all(&reply.body).await;
                        let _ = stream.shutdown().await;
                    });
                }
            });
            Self { url, reply, hits }
        }

        fn serve(&self, change: impl FnOnce(&mut Reply)) {
            change(&mut self.reply.lock().unwrap());
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    fn jwks(keys: &[&SigningKey]) -> Value {
        json!({ "keys": keys.iter().map(|k| k.verifying_key().to_jwk()).collect::<Vec<_>>() })
    }

    fn token(key: &SigningKey) -> String {
        JwtConfig::asymmetric(key.clone(), "iss", "aud")
            .issuer()
            .issue("ada", ())
            .unwrap()
            .token
    }

    fn strategy(remote: &RemoteKeySet) -> impl Authenticate<String> {
        JwtStrategy::new(
            JwtVerifier::with_remote_key_set(remote.clone(), "iss", "aud"),
            ExtractJwt::from_auth_header_as_bearer_token(),
            |claims: Claims<()>| async move { Ok(Some(claims.sub)) },
        )
        .verified_token_cache(0)
    }

    async fn run(strategy: &impl Authenticate<String>, token: &str) -> String {
        let http = TestRequest::get()
            .insert_header(("authorization", format!("Bearer {token}")))
            .to_http_request();
        match strategy
            .authenticate(&AuthRequest::with_body(http, Default::default()))
            .await
        {
            Outcome::Fail(failure) => failure.code().to_owned(),
            Outcome::Success { user, .. } => format!("success:{user}"),
            other => format!("{other:?}"),
        }
    }

    fn key() -> SigningKey {
        SigningKey::generate(Algorithm::EdDSA).unwrap()
    }

    #[tokio::test]
    async fn keys_are_fetched_on_first_use_and_cached_for_max_age() {
        let a = key();
        let issuer = Issuer::start(jwks(&[&a])).await;
        issuer.serve(|r| r.cache_control = Some("public, max-age=1".to_owned()));
        let remote = RemoteKeySet::new(&issuer.url).unwrap().max_age(
            Duration::ZERO,
            Duration::from_secs(300),
            Duration::from_secs(3600),
        );
        let strategy = strategy(&remote);
        assert_eq!(
            issuer.hits(),
            0,
            "nothing is fetched before a token needs a key"
        );
        for _ in 0..5 {
            assert_eq!(run(&strategy, &token(&a)).await, "success:ada");
        }
        assert_eq!(issuer.hits(), 1, "cached for max-age");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(run(&strategy, &token(&a)).await, "success:ada");
        assert_eq!(issuer.hits(), 2, "refetched once max-age has passed");
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_at_most_once_per_cooldown_and_picks_up_a_rotation() {
        let (a, b) = (key(), key());
        let issuer = Issuer::start(jwks(&[&a])).await;
        let remote = RemoteKeySet::new(&issuer.url)
            .unwrap()
            .unknown_kid_cooldown(Duration::from_millis(700));
        let strategy = strategy(&remote);
        assert_eq!(run(&strategy, &token(&a)).await, "success:ada");
        assert_eq!(issuer.hits(), 1);
        // A flood of tokens with kids nobody published.
        for _ in 0..20 {
            assert_eq!(run(&strategy, &token(&key())).await, "token_key_unknown");
        }
        assert!(
            issuer.hits() <= 2,
            "one refetch per cooldown, got {}",
            issuer.hits()
        );
        // A header pointing at another JWKS is never followed.
        let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        header.kid = Some(b.kid().to_owned());
        header.jku = Some(issuer.url.clone());
        let claims = serde_json::json!({"sub": "ada", "iss": "iss", "aud": "aud",
            "iat": crate::clock::now_secs(), "exp": crate::clock::now_secs() + 60});
        let with_jku = jsonwebtoken::encode(&header, &claims, b.encoding_key()).unwrap();
        let before = issuer.hits();
        assert_eq!(run(&strategy, &with_jku).await, "token_key_unknown");
        assert!(issuer.hits() <= before + 1);
        // The issuer rotates to b: once the cooldown has passed, b's tokens are accepted.
        issuer.serve(|r| r.body = jwks(&[&b, &a]).to_string().into_bytes());
        tokio::time::sleep(Duration::from_millis(800)).await;
        let before = issuer.hits();
        assert_eq!(run(&strategy, &token(&b)).await, "success:ada");
        assert_eq!(issuer.hits(), before + 1);
        assert_eq!(run(&strategy, &token(&a)).await, "success:ada");
        assert_eq!(issuer.hits(), before + 1);
    }

    #[tokio::test]
    async fn keys_are_served_stale_while_the_issuer_is_down_then_dropped() {
        let a = key();
        let issuer = Issuer::start(jwks(&[&a])).await;
        issuer.serve(|r| r.cache_control = Some("max-age=1".to_owned()));
        let remote = RemoteKeySet::new(&issuer.url)
            .unwrap()
            .max_age(
                Duration::ZERO,
                Duration::from_secs(1),
                Duration::from_secs(60),
            )
            .unknown_kid_cooldown(Duration::ZERO)
            .stale_for(Duration::from_secs(2));
        let strategy = strategy(&remote);
        assert_eq!(run(&strategy, &token(&a)).await, "success:ada");
        issuer.serve(|r| r.status = 503);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(
            run(&strategy, &token(&a)).await,
            "success:ada",
            "stale-if-error"
        );
        assert_eq!(remote.last_error(), Some(JwksError::Status(503)));
        tokio::time::sleep(Duration::from_millis(2000)).await;
        assert_eq!(
            run(&strategy, &token(&a)).await,
            "token_key_unknown",
            "past the stale allowance the keys are dropped"
        );
        issuer.serve(|r| r.status = 200);
        assert_eq!(
            run(&strategy, &token(&a)).await,
            "success:ada",
            "and come back"
        );
    }

    #[tokio::test]
    async fn a_bad_document_is_refused_and_the_old_keys_are_kept() {
        let a = key();
        let issuer = Issuer::start(jwks(&[&a])).await;
        let remote = RemoteKeySet::new(&issuer.url).unwrap().max_bytes(4096);
        remote.refresh().await.unwrap();
        let jwk = a.verifying_key().to_jwk();
        let with = |name: &str, value: Value| {
            let mut jwk = jwk.clone();
            jwk[name] = value;
            json!({ "keys": [jwk] }).to_string().into_bytes()
        };
        let huge = json!({ "keys": [jwk], "padding": "x".repeat(5000) })
            .to_string()
            .into_bytes();
        let bad: Vec<(&str, Vec<u8>, bool)> = vec![
            ("not JSON", b"<html>hello</html>".to_vec(), true),
            (
                "duplicate kids",
                json!({ "keys": [jwk, jwk] }).to_string().into_bytes(),
                true,
            ),
            ("unknown kty", with("kty", json!("oct")), true),
            ("a private member", with("d", json!("AAAA")), true),
            ("alg contradicting kty", with("alg", json!("RS256")), true),
            ("huge with Content-Length", huge.clone(), true),
            ("huge without Content-Length", huge, false),
        ];
        for (what, body, content_length) in bad {
            issuer.serve(|r| {
                r.body = body;
                r.content_length = content_length;
            });
            let error = remote.refresh().await.unwrap_err();
            match what {
                w if w.starts_with("huge") => {
                    assert_eq!(error, JwksError::TooLarge(4096), "{what}")
                }
                _ => assert!(matches!(error, JwksError::Invalid(_)), "{what}: {error}"),
            }
            assert!(
                remote.current().get(a.kid()).is_some(),
                "{what}: old keys kept"
            );
        }
    }

    #[tokio::test]
    async fn a_slow_issuer_times_out_and_the_old_keys_are_kept() {
        let a = key();
        let issuer = Issuer::start(jwks(&[&a])).await;
        let remote = RemoteKeySet::new(&issuer.url)
            .unwrap()
            .timeout(Duration::from_millis(300));
        remote.refresh().await.unwrap();
        issuer.serve(|r| r.delay = Duration::from_secs(3));
        let started = Instant::now();
        let error = remote.refresh().await.unwrap_err();
        assert!(matches!(error, JwksError::Fetch(_)), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the timeout"
        );
        assert!(remote.current().get(a.kid()).is_some());
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_fetch() {
        let a = key();
        let issuer = Issuer::start(jwks(&[&a])).await;
        issuer.serve(|r| r.delay = Duration::from_millis(200));
        let remote = RemoteKeySet::new(&issuer.url).unwrap();
        let refreshes = (0..10).map(|_| remote.refresh_if_stale());
        futures_util::future::join_all(refreshes).await;
        assert_eq!(issuer.hits(), 1);
        assert!(remote.current().get(a.kid()).is_some());
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        assert!(matches!(
            RemoteKeySet::new("http://auth.example.com/jwks.json"),
            Err(JwksError::InsecureUrl(_))
        ));
        assert!(RemoteKeySet::new("https://auth.example.com/jwks.json").is_ok());
        for url in [
            "http://127.0.0.1:9/j",
            "http://localhost/j",
            "http://[::1]:9/j",
        ] {
            assert!(RemoteKeySet::new(url).is_ok(), "{url}");
        }
        assert!(matches!(
            RemoteKeySet::new("file:///etc/passwd"),
            Err(JwksError::BadUrl(_))
        ));
        assert!(RemoteKeySet::allow_plain_http("http://auth.internal/jwks.json").is_ok());
    }

    #[test]
    fn cache_control_max_age_is_read() {
        assert_eq!(
            cache_max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(cache_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(cache_max_age("public"), None);
        assert_eq!(cache_max_age("max-age=abc"), None);
    }
}
