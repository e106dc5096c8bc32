//! `LocalStrategy`: passport-local's strategy, in signup and login modes.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use secrecy::ExposeSecret;

use crate::blocking::{BlockingPool, Priority};
use crate::error::StrategyError;
use crate::local::credentials::{Credentials, FieldNames};
use crate::local::email::normalize_email;
use crate::local::hasher::PasswordHasher;
use crate::local::policy::PasswordPolicy;
use crate::local::store::{Attempt, Created, DynLoginThrottle, LoginThrottle, UserStore};
use crate::outcome::{Failure, FailureKind, Info, Outcome};
use crate::request::AuthRequest;
use crate::strategy::Authenticate;

/// What a [`LocalStrategy`] does with the credentials.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
/// use passport_actix::Passport;
/// use passport_actix::store::{MemoryStore, User};
///
/// let (users, hasher) = (Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap()));
/// let mut passport = Passport::<User>::new();
/// passport.register("signup", LocalStrategy::new(Mode::Signup, users.clone(), hasher.clone()));
/// passport.register("login", LocalStrategy::new(Mode::Login, users, hasher));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create a user (register it as `"signup"`). Duplicate usernames fail with `409`.
    Signup,
    /// Verify a user (register it as `"login"`). Wrong credentials fail with `401`.
    Login,
}

/// The `Retry-After` of a login or signup turned away because the hashing queue is full.
pub const BUSY_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The message of every login failure, whatever its reason, so that a response never tells
/// which emails exist.
pub const INVALID_CREDENTIALS: &str = "Invalid email or password";

/// Username and password authentication against a [`UserStore`] (mirrors passport-local).
///
/// * Credentials come from a JSON or urlencoded body; fields default to `email`/`password`.
///   Missing credentials fail with `400` without touching the store.
/// * Usernames are normalized with [`normalize_email`] (replace with
///   [`normalizer`](Self::normalizer)).
/// * Hashing and verifying run on a [`BlockingPool`], never on the async executor, through
///   its admission limit: when the pool's queue is full a login or signup fails at once with
///   [`Failure::busy`] (`503`, `Retry-After: 1`) before any store access or throttle count.
/// * Login for an unknown user still verifies against a dummy hash, and every login failure
///   has the same code and message; the internal reason ("unknown user" / "wrong password")
///   is only in [`Failure::reason`].
/// * With a [`LoginThrottle`], attempts are counted per username before any verification,
///   and a throttled account is refused even with the right password. A login strategy
///   without one logs a warning (`tracing::warn!`, once per strategy, at its first login):
///   nothing then limits password guessing against one account.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
/// use passport_actix::store::MemoryStore;
/// let users = Arc::new(MemoryStore::new());
/// let hasher = Arc::new(Bcrypt::new(4).unwrap());
/// let signup = LocalStrategy::new(Mode::Signup, users.clone(), hasher.clone());
/// let login = LocalStrategy::new(Mode::Login, users, hasher);
/// ```
pub struct LocalStrategy<S: UserStore> {
    mode: Mode,
    store: Arc<S>,
    hasher: Arc<dyn PasswordHasher>,
    throttle: Option<Arc<dyn DynLoginThrottle>>,
    fields: FieldNames,
    policy: PasswordPolicy,
    normalize: fn(&str) -> Result<String, Failure>,
    pool: BlockingPool,
    admission_key: Option<AdmissionKey>,
    /// Warns once, at the first login, when no [`LoginThrottle`] is set.
    unthrottled_warning: std::sync::Once,
}

type AdmissionKey = Arc<dyn Fn(&actix_web::HttpRequest) -> Option<String> + Send + Sync>;

impl<S: UserStore> fmt::Debug for LocalStrategy<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStrategy")
            .field("mode", &self.mode)
            .field("fields", &self.fields)
            .field("throttled", &self.throttle.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: UserStore> LocalStrategy<S> {
    /// A strategy in `mode` over `store`, hashing with `hasher`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
    /// use passport_actix::store::MemoryStore;
    ///
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap())); // cost 12+ in production
    /// # let _ = login;
    /// ```
    pub fn new(mode: Mode, store: Arc<S>, hasher: Arc<dyn PasswordHasher>) -> Self {
        let policy = PasswordPolicy::default().max_bytes(hasher.max_password_bytes());
        Self {
            mode,
            store,
            hasher,
            throttle: None,
            fields: FieldNames::default(),
            policy,
            normalize: normalize_email,
            pool: BlockingPool::shared(),
            admission_key: None,
            unthrottled_warning: std::sync::Once::new(),
        }
    }

    /// Names the client of each login and signup (its address, or its network), so that the
    /// blocking pool's per-client share ([`BlockingPool::with_admission_shares`]) bounds the
    /// hashing places one client can hold. Re-authentication ([`check_password`](Self::check_password))
    /// and new-password hashing use the pool's reserved share instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use passport_actix::BlockingPool;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
    /// use passport_actix::store::MemoryStore;
    ///
    /// let pool = BlockingPool::shared()
    ///     .with_admission_limit(NonZeroUsize::new(64).unwrap())
    ///     .with_admission_shares(NonZeroUsize::new(16).unwrap(), 8);
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap()))
    ///     .blocking_pool(pool)
    ///     .admission_key(|req| req.peer_addr().map(|peer| peer.ip().to_string()));
    /// # let _ = login;
    /// ```
    pub fn admission_key(
        mut self,
        key: impl Fn(&actix_web::HttpRequest) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.admission_key = Some(Arc::new(key));
        self
    }

    /// Sets the body field names (passport-local's `usernameField`/`passwordField`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actix_web::test::TestRequest;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
    /// use passport_actix::{AuthRequest, Authenticate, Outcome};
    /// use passport_actix::store::MemoryStore;
    ///
    /// let signup = LocalStrategy::new(Mode::Signup, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap()))
    ///     .fields("username", "passphrase");
    /// # actix_web::rt::System::new().block_on(async {
    /// let http = TestRequest::post().insert_header(("content-type", "application/json")).to_http_request();
    /// let req = AuthRequest::with_body(http, r#"{"username":"ada@example.com","passphrase":"correct horse battery"}"#.into());
    /// assert!(matches!(signup.authenticate(&req).await, Outcome::Success { .. }));
    /// # });
    /// ```
    pub fn fields(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.fields = FieldNames {
            username: username.into(),
            password: password.into(),
        };
        self
    }

    /// Sets the password policy for signup (its byte limit never exceeds the hasher's).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use actix_web::test::TestRequest;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode, PasswordPolicy};
    /// use passport_actix::{AuthRequest, Authenticate, Outcome};
    /// use passport_actix::store::MemoryStore;
    ///
    /// let signup = LocalStrategy::new(Mode::Signup, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap()))
    ///     .policy(PasswordPolicy::default().min_chars(15));
    /// # actix_web::rt::System::new().block_on(async {
    /// let http = TestRequest::post().insert_header(("content-type", "application/json")).to_http_request();
    /// let req = AuthRequest::with_body(http, r#"{"email":"ada@example.com","password":"correct horse"}"#.into());
    /// let Outcome::Fail(failure) = signup.authenticate(&req).await else { panic!("13 characters are too few") };
    /// assert_eq!(failure.status(), 422);
    /// assert_eq!(failure.code(), "password_too_short");
    /// # });
    /// ```
    pub fn policy(mut self, policy: PasswordPolicy) -> Self {
        let max = match (policy_max(&policy), self.hasher.max_password_bytes()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.policy = policy.max_bytes(max);
        self
    }

    /// Counts login attempts per username and refuses throttled accounts.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use passport_actix::local::{Attempt, Bcrypt, LocalStrategy, LoginThrottle, Mode};
    /// use passport_actix::{Outcome, StoreError};
    /// use passport_actix::store::MemoryStore;
    ///
    /// /// Refuses every attempt (a real throttle counts them).
    /// struct Closed;
    /// impl LoginThrottle for Closed {
    ///     async fn register_attempt(&self, _: &str) -> Result<Attempt, StoreError> {
    ///         Ok(Attempt::Throttled { retry_after: Duration::from_secs(60) })
    ///     }
    ///     async fn clear(&self, _: &str) -> Result<(), StoreError> { Ok(()) }
    /// }
    ///
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap()))
    ///     .throttle(Arc::new(Closed));
    /// # actix_web::rt::System::new().block_on(async {
    /// let Outcome::Fail(failure) = login.check_password("ada@example.com", "anything").await else { panic!() };
    /// assert_eq!(failure.status(), 429);
    /// # });
    /// ```
    pub fn throttle<T: LoginThrottle>(mut self, throttle: Arc<T>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Replaces the username normalizer (default: [`normalize_email`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode, PasswordHasher};
    /// use passport_actix::local::UserStore;
    /// use passport_actix::store::MemoryStore;
    /// use passport_actix::{Failure, Outcome};
    ///
    /// /// Plain usernames instead of emails: trimmed, lower-cased, letters and digits only.
    /// fn username(raw: &str) -> Result<String, Failure> {
    ///     let name = raw.trim().to_lowercase();
    ///     if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
    ///         return Err(Failure::bad_request("invalid_username", "Use letters and digits only"));
    ///     }
    ///     Ok(name)
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (store, hasher) = (MemoryStore::new(), Arc::new(Bcrypt::new(4).unwrap()));
    /// store.create_user("ada", &hasher.hash(b"correct horse battery").unwrap()).await.unwrap();
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(store), hasher).normalizer(username);
    /// assert!(matches!(login.check_password(" Ada ", "correct horse battery").await, Outcome::Success { user, .. } if user.email == "ada"));
    /// assert!(matches!(login.check_password("ada@example.com", "x").await, Outcome::Fail(f) if f.status() == 400));
    /// # });
    /// ```
    pub fn normalizer(mut self, normalize: fn(&str) -> Result<String, Failure>) -> Self {
        self.normalize = normalize;
        self
    }

    /// Runs hashing on this pool instead of the shared one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::num::NonZeroUsize;
    /// use std::sync::Arc;
    /// use passport_actix::BlockingPool;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
    /// use passport_actix::store::MemoryStore;
    ///
    /// // Two hashing threads at most, whatever the number of cores.
    /// let pool = BlockingPool::new(NonZeroUsize::new(2).unwrap());
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap())).blocking_pool(pool);
    /// # let _ = login;
    /// ```
    pub fn blocking_pool(mut self, pool: BlockingPool) -> Self {
        self.pool = pool;
        self
    }

    /// Checks `password` for `username` exactly as a login does — normalization, the throttle
    /// (a wrong password counts as a failed login), the dummy hash for unknown users, rehash on
    /// success — for re-authentication before a sensitive change (password change, account
    /// deletion). Failures are the login's: `401 invalid_credentials`, `429` when throttled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode, PasswordHasher, UserStore};
    /// use passport_actix::store::MemoryStore;
    /// use passport_actix::Outcome;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let (store, hasher) = (MemoryStore::new(), Arc::new(Bcrypt::new(4).unwrap()));
    /// store.create_user("ada@example.com", &hasher.hash(b"correct horse battery").unwrap()).await.unwrap();
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(store), hasher);
    /// assert!(matches!(login.check_password("ada@example.com", "correct horse battery").await, Outcome::Success { .. }));
    /// assert!(matches!(login.check_password("ada@example.com", "wrong").await, Outcome::Fail(_)));
    /// # });
    /// ```
    pub async fn check_password(&self, username: &str, password: &str) -> Outcome<S::User> {
        let username = match (self.normalize)(username) {
            Ok(username) => username,
            Err(failure) => return Outcome::Fail(failure),
        };
        let credentials = Credentials {
            username: username.clone(),
            password: secrecy::SecretString::from(password),
        };
        self.login(username, credentials, None, Priority::Reserved)
            .await
    }

    /// Checks a new password against the signup policy (for `username`) and hashes it on the
    /// blocking pool: a policy violation is the signup's `422` failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use passport_actix::local::{Bcrypt, LocalStrategy, Mode, NewPasswordError, PasswordHasher};
    /// use passport_actix::store::MemoryStore;
    ///
    /// let hasher = Arc::new(Bcrypt::new(4).unwrap());
    /// let signup = LocalStrategy::new(Mode::Signup, Arc::new(MemoryStore::new()), hasher.clone());
    /// # actix_web::rt::System::new().block_on(async {
    /// let hash = signup.hash_new_password("ada@example.com", "a brand new passphrase").await.unwrap();
    /// assert!(hasher.verify(b"a brand new passphrase", &hash).unwrap());
    /// let refused = signup.hash_new_password("ada@example.com", "password").await;
    /// assert!(matches!(refused, Err(NewPasswordError::Policy(f)) if f.code() == "password_too_common"));
    /// # });
    /// ```
    pub async fn hash_new_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<crate::local::PasswordHash, NewPasswordError> {
        if let Err(violation) = self.policy.check(password, username) {
            return Err(NewPasswordError::Policy(self.policy.failure(violation)));
        }
        let Some(admission) = self.pool.try_admit_for(None, Priority::Reserved) else {
            return Err(NewPasswordError::Busy(
                Failure::busy(BUSY_RETRY_AFTER).with_reason("hashing queue full"),
            ));
        };
        let hasher = Arc::clone(&self.hasher);
        let password = secrecy::SecretString::from(password);
        admission
            .run(move || hasher.hash(password.expose_secret().as_bytes()))
            .await
            .and_then(|r| r.map_err(|e| StrategyError::internal("hashing the password", e)))
            .map_err(NewPasswordError::Hash)
    }

    async fn signup(
        &self,
        username: String,
        credentials: Credentials,
        client: Option<String>,
    ) -> Outcome<S::User> {
        let password = credentials.password.expose_secret();
        if let Err(violation) = self.policy.check(password, &username) {
            return Outcome::Fail(self.policy.failure(violation));
        }
        let Some(admission) = self.pool.try_admit_for(client.as_deref(), Priority::Normal) else {
            return Outcome::Fail(
                Failure::busy(BUSY_RETRY_AFTER).with_reason("hashing queue full"),
            );
        };
        let hasher = Arc::clone(&self.hasher);
        let hashed = admission
            .run(move || hasher.hash(credentials.password_bytes()))
            .await
            .and_then(|r| r.map_err(|e| StrategyError::internal("hashing the password", e)));
        let hash = match hashed {
            Ok(hash) => hash,
            Err(error) => return Outcome::Error(error),
        };
        match self.store.create_user(&username, &hash).await {
            Ok(Created::User(user)) => Outcome::Success {
                user,
                info: Info::with_message("Signup successful"),
            },
            Ok(Created::AlreadyExists) => Outcome::Fail(
                Failure::new(
                    StatusCode::CONFLICT,
                    "email_taken",
                    "An account with this email already exists",
                )
                .with_kind(FailureKind::InvalidRequest),
            ),
            Err(error) => Outcome::Error(error.into_strategy_error("creating the user")),
        }
    }

    async fn login(
        &self,
        username: String,
        credentials: Credentials,
        client: Option<String>,
        priority: Priority,
    ) -> Outcome<S::User> {
        if self.throttle.is_none() {
            self.unthrottled_warning.call_once(|| {
                tracing::warn!(
                    "a login strategy runs without a login throttle: nothing limits password \
                     guessing against one account; give it one with `LocalStrategy::throttle`"
                );
            });
        }
        if self
            .hasher
            .max_password_bytes()
            .is_some_and(|max| credentials.password_bytes().len() > max)
        {
            return Outcome::Fail(self.policy.failure(crate::local::PolicyViolation::TooLong));
        }
        // Before the throttle counts an attempt or the store is read: a turned-away login
        // costs nothing but this check.
        let Some(admission) = self.pool.try_admit_for(client.as_deref(), priority) else {
            return Outcome::Fail(
                Failure::busy(BUSY_RETRY_AFTER).with_reason("hashing queue full"),
            );
        };
        if let Some(throttle) = &self.throttle {
            match throttle.register_attempt_boxed(&username).await {
                Ok(Attempt::Allowed) => {}
                Ok(Attempt::Throttled { retry_after }) => {
                    return Outcome::Fail(
                        Failure::throttled(retry_after).with_reason("account throttled"),
                    );
                }
                Err(error) => {
                    return Outcome::Error(error.into_strategy_error("counting the login attempt"));
                }
            }
        }
        let found = match self.store.find_for_login(&username).await {
            Ok(found) => found,
            Err(error) => return Outcome::Error(error.into_strategy_error("looking up the user")),
        };
        let (user, hash) = match found {
            Some(stored) => (Some(stored.user), stored.password_hash),
            None => (None, self.hasher.dummy_hash().clone()),
        };
        // Verify, and on a match with outdated parameters hash again with the current ones,
        // in one trip to the blocking pool (only successes pay for the second hash).
        let hasher = Arc::clone(&self.hasher);
        let verified = hash.clone();
        let checked = admission
            .run(move || {
                let password = credentials.password_bytes();
                let matches = hasher.verify(password, &hash)?;
                let rehashed = match matches && hasher.needs_rehash(&hash) {
                    true => Some(hasher.hash(password)?),
                    false => None,
                };
                Ok::<_, crate::error::HashError>((matches, rehashed))
            })
            .await
            .and_then(|r| r.map_err(|e| StrategyError::internal("verifying the password", e)));
        let (matches, rehashed) = match checked {
            Ok(checked) => checked,
            Err(error) => return Outcome::Error(error),
        };
        match user {
            Some(user) if matches => {
                // A compare-and-swap on the hash that was verified: a password change that
                // committed meanwhile is never undone by a hash of the old password, and the
                // login that checked the old password is refused.
                if let Some(new_hash) = rehashed {
                    match self
                        .store
                        .update_password_hash(&user, &verified, &new_hash)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => {
                            return Outcome::Fail(invalid_credentials(
                                "the password changed during the login",
                            ));
                        }
                        // The login itself succeeded; the upgrade is retried at the next one.
                        Err(error) => {
                            tracing::warn!(error = %error, "storing the rehashed password failed");
                        }
                    }
                }
                if let Some(throttle) = &self.throttle {
                    // With a second factor, only the completed login clears the count.
                    let cleared = match self.store.has_second_factor(&user).await {
                        Ok(true) => Ok(()),
                        Ok(false) => throttle.clear_boxed(&username).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = cleared {
                        return Outcome::Error(
                            error.into_strategy_error("clearing login attempts"),
                        );
                    }
                }
                Outcome::Success {
                    user,
                    info: Info::with_message("Logged in successfully"),
                }
            }
            Some(_) => Outcome::Fail(invalid_credentials("wrong password")),
            None => Outcome::Fail(invalid_credentials("unknown user")),
        }
    }
}

/// Why [`LocalStrategy::hash_new_password`] produced no hash.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use actix_web::HttpResponse;
/// use passport_actix::local::{Bcrypt, LocalStrategy, Mode, NewPasswordError};
/// use passport_actix::{error_response, failure_response};
/// use passport_actix::store::MemoryStore;
///
/// async fn change_password(strategy: &LocalStrategy<MemoryStore>, email: &str, new: &str) -> HttpResponse {
///     match strategy.hash_new_password(email, new).await {
///         Ok(_hash) => HttpResponse::NoContent().finish(), // store the hash here
///         Err(NewPasswordError::Policy(failure) | NewPasswordError::Busy(failure)) => {
///             failure_response(&[failure])
///         }
///         Err(NewPasswordError::Hash(error)) => error_response(&error),
///     }
/// }
/// # actix_web::rt::System::new().block_on(async {
/// let strategy = LocalStrategy::new(Mode::Signup, Arc::new(MemoryStore::new()), Arc::new(Bcrypt::new(4).unwrap()));
/// assert_eq!(change_password(&strategy, "ada@example.com", "short").await.status(), 422);
/// # });
/// ```
#[derive(Debug)]
pub enum NewPasswordError {
    /// The password breaks the policy (answer the failure, a `422`).
    Policy(Failure),
    /// Hashing failed (an internal error).
    Hash(StrategyError),
    /// The hashing queue is full (answer the failure, a `503` with `Retry-After`).
    Busy(Failure),
}

fn policy_max(policy: &PasswordPolicy) -> Option<usize> {
    policy.max_bytes_limit()
}

fn invalid_credentials(reason: &'static str) -> Failure {
    Failure::unauthorized("invalid_credentials", INVALID_CREDENTIALS).with_reason(reason)
}

impl<S: UserStore> Authenticate<S::User> for LocalStrategy<S> {
    async fn authenticate(&self, req: &AuthRequest) -> Outcome<S::User> {
        let credentials = match Credentials::from_request(req, &self.fields).await {
            Ok(credentials) => credentials,
            Err(failure) => return Outcome::Fail(failure),
        };
        let username = match (self.normalize)(&credentials.username) {
            Ok(username) => username,
            Err(failure) => return Outcome::Fail(failure),
        };
        let client = self.admission_key.as_ref().and_then(|key| key(req.http()));
        match self.mode {
            Mode::Signup => self.signup(username, credentials, client).await,
            Mode::Login => {
                self.login(username, credentials, client, Priority::Normal)
                    .await
            }
        }
    }
}
