//! Wiring the strategies: which ones exist, under which names, over which store.
//! The authentication logic itself lives in `passport-actix`.

use std::sync::Arc;

use passport_actix::jwt::{Claims, ExtractJwt, IssuedToken, JwtStrategy, TokenIssuer};
use passport_actix::local::{Argon2id, Bcrypt, LocalStrategy, Migrating, Mode, PasswordHasher};
use passport_actix::session::{IssuedSession, RefreshTokenHash, SessionStrategy, Sessions};
use passport_actix::{BlockingPool, Callback, Passport};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::configuration::Settings;
use crate::configuration::passwords::{PasswordScheme, PasswordSettings};
use crate::store::{Store, User};

/// The application's own token claims, beside `sub`, `iss`, `aud`, `iat`, `exp` and the `jti`
/// the library's issuer writes into every token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The user's email when the token was issued.
    pub email: String,
    /// The session the token belongs to. Every token this server issues has one; a token
    /// without it (signed elsewhere with the shared secret) is checked against the user only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the session's login was authenticated (RFC 8176): `["pwd"]`, `["pwd","otp"]`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// The query parameter the seed's clients send the token in.
pub const TOKEN_QUERY_PARAMETER: &str = "secret_token";

/// Everything the routes need from authentication.
#[derive(Clone)]
pub struct Auth {
    /// The registry: `"signup"`, `"login"`, `"jwt"` (and `"jwt-stateless"` for benchmarks).
    pub passport: Passport<User>,
    /// `"login"` as a custom callback (the login route signs a token on success).
    pub login: Callback<User>,
    /// Password checks for re-authentication (password change, account deletion), with the
    /// login's throttle, and hashing of new passwords with the signup's policy.
    pub passwords: Arc<LocalStrategy<Store>>,
    /// Sessions and refresh-token rotation.
    pub sessions: Sessions<Store>,
    /// Signs tokens.
    pub issuer: TokenIssuer,
    /// The body of `/.well-known/jwks.json`: every accepted public key.
    pub jwks: String,
    /// The second factor (TOTP, recovery codes, pending logins).
    pub mfa: crate::mfa::Mfa,
    /// Browser sessions: the cookie and the cross-site protection.
    pub browser: crate::browser::Browser,
}

/// The body of `/login` and `/token/refresh`.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    /// The access token.
    #[serde(flatten)]
    pub access: IssuedToken,
    /// The refresh token (opaque; only its digest is stored).
    pub refresh_token: String,
}

impl Auth {
    /// Signs an access token for `user` in `session` and pairs it with the session's new
    /// refresh token.
    pub fn token_pair(
        &self,
        user: &User,
        session: &IssuedSession,
    ) -> Result<TokenPair, passport_actix::jwt::IssueError> {
        let claims = TokenClaims {
            email: user.email.clone(),
            sid: Some(session.session_id.clone()),
            amr: session.amr.clone(),
        };
        let access = self.issuer.issue(user.id.to_string(), claims)?;
        Ok(TokenPair {
            access,
            refresh_token: session.refresh_token.as_str().to_owned(),
        })
    }
}

/// Registers the strategies; password hashing runs on `hashing`.
pub fn build(settings: &Settings, store: Store, hashing: BlockingPool) -> anyhow::Result<Auth> {
    let jwt = crate::keys::jwt_config(&settings.tokens)?;
    let hasher = password_hasher(&settings.passwords)?;
    let store = Arc::new(store);
    let tokens = || {
        ExtractJwt::from_extractors([
            ExtractJwt::from_auth_header_as_bearer_token(),
            ExtractJwt::from_url_query_parameter(TOKEN_QUERY_PARAMETER),
        ])
    };

    let hashing = admission_limited(hashing, &settings.passwords);
    let client_ip = crate::client_ip::ClientIp::new(settings.server.trusted_proxies.clone());
    let admission_key = move |req: &actix_web::HttpRequest| {
        client_ip.client(req).map(|client| admission_key(&client))
    };
    let mut passport = Passport::new();
    passport.body_read_timeout(settings.server.body_read_timeout);
    passport.register(
        "signup",
        LocalStrategy::new(Mode::Signup, Arc::clone(&store), hasher.clone())
            .blocking_pool(hashing.clone())
            .admission_key(admission_key.clone()),
    );
    let login = || {
        LocalStrategy::new(Mode::Login, Arc::clone(&store), hasher.clone())
            .throttle(store.clone())
            .blocking_pool(hashing.clone())
            .admission_key(admission_key.clone())
    };
    passport.register("login", login());
    let passwords = Arc::new(login());
    let users = Arc::clone(&store);
    passport.register(
        "jwt",
        JwtStrategy::new(
            jwt.verifier().max_lifetime(settings.tokens.max_lifetime),
            tokens(),
            async move |claims: Claims<TokenClaims>| {
                let Ok(user_id) = Uuid::parse_str(&claims.sub) else {
                    return Ok(None);
                };
                match claims.custom.sid.as_deref().map(Uuid::parse_str) {
                    // The steady state: the liveness cache, no database round trip.
                    Some(Ok(session_id)) => users.session_user(session_id, user_id).await,
                    Some(Err(_)) => Ok(None),
                    None => users.user_by_id(user_id).await,
                }
            },
        ),
    );
    // Trusts the token alone, with no database look-up: only for the benchmark routes.
    passport.register(
        "jwt-stateless",
        JwtStrategy::new(
            jwt.verifier().max_lifetime(settings.tokens.max_lifetime),
            tokens(),
            async |claims: Claims<TokenClaims>| {
                Ok(Uuid::parse_str(&claims.sub)
                    .ok()
                    .map(|id| User::new(id, claims.custom.email)))
            },
        ),
    );
    // Browser sessions: the cookie names a session of the same table, looked up through the
    // same liveness cache. A request that carries a token is judged by the token alone.
    let browser = crate::browser::Browser::new(
        &settings.session_cookie,
        settings.sessions.ttl,
        &settings.cors,
    )?;
    let cookie_users = Arc::clone(&store);
    let carried = tokens();
    passport.register(
        crate::browser::SESSION_STRATEGY,
        SessionStrategy::new(
            browser.cookie.clone(),
            async move |digest: RefreshTokenHash| cookie_users.cookie_session_user(&digest).await,
        )
        .cross_origin(browser.protection.clone())
        .yield_to(move |req| !matches!(carried.extract(req), passport_actix::jwt::Extracted::None)),
    );
    let login = passport.callback("login")?;
    let mfa = crate::mfa::Mfa::new(&settings.mfa, Arc::clone(&store));
    let sessions = Sessions::new(Arc::clone(&store))
        .ttl(settings.sessions.ttl)
        .reuse_grace(settings.sessions.refresh_reuse_grace)
        .derive_replacements(store.refresh_token_key());
    Ok(Auth {
        passport,
        login,
        passwords,
        sessions,
        issuer: jwt.issuer(),
        jwks: jwt.jwks().to_string(),
        mfa,
        browser,
    })
}

/// `hashing` (the process's hashing threads: one per core, at `HASH_THREAD_NICE`) with `HASH_QUEUE_LIMIT` as
/// this server's admission limit (its own count: two servers in one process do not share
/// it), shared by signup, login, re-authentication and new-password hashing.
fn admission_limited(hashing: BlockingPool, passwords: &PasswordSettings) -> BlockingPool {
    let limit = match passwords.hash_queue_limit {
        0 => hashing
            .threads()
            .saturating_mul(passport_actix::DEFAULT_ADMITTED_PER_THREAD),
        limit => limit,
    };
    let limit = std::num::NonZeroUsize::new(limit).unwrap_or(std::num::NonZeroUsize::MIN);
    hashing
        .with_admission_limit(limit)
        .with_admission_shares(per_client_share(limit), reserved_share(limit))
}

/// A client's (an IPv4 address, an IPv6 /48) share of the hashing places: an eighth of the
/// limit. Under pressure (fewer than a share of places left) a client holding its share is
/// refused, so the last places go to the others.
fn per_client_share(limit: std::num::NonZeroUsize) -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(limit.get() / 8).unwrap_or(std::num::NonZeroUsize::MIN)
}

/// The hashing places kept for re-authentication (password change, account deletion): a
/// sixteenth of the limit, at least one (none when the limit is one).
fn reserved_share(limit: std::num::NonZeroUsize) -> usize {
    (limit.get() / 16).max(1).min(limit.get() - 1)
}

/// The admission key of a client: an IPv4 address (or an unparseable forwarded entry) as
/// itself, an IPv6 address as its /48 — a site may hold 65,536 /64s, so a per-/64 share would
/// bound nothing.
fn admission_key(client: &crate::client_ip::Client) -> String {
    use crate::client_ip::Client;
    match client {
        Client::Ip(std::net::IpAddr::V6(v6)) => {
            let net = u128::from(*v6) & (u128::MAX << 80);
            format!("{}/48", std::net::Ipv6Addr::from(net))
        }
        other => other.to_string(),
    }
}

/// The configured scheme for new hashes; hashes of the other scheme (or of other costs) are
/// verified and upgraded at the next successful login.
fn password_hasher(passwords: &PasswordSettings) -> anyhow::Result<Arc<dyn PasswordHasher>> {
    let bcrypt = Bcrypt::new(passwords.bcrypt_cost)?;
    let argon2 = Argon2id::new(passwords.argon2)?;
    Ok(match passwords.hasher {
        PasswordScheme::Bcrypt => Arc::new(Migrating::new(bcrypt).previous(argon2)),
        PasswordScheme::Argon2id => Arc::new(Migrating::new(argon2).previous(bcrypt)),
    })
}
