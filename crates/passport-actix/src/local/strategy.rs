//! `LocalStrategy`: passport-local's strategy, in signup and login modes.

use std::fmt;
use std::sync::Arc;

use actix_web::http::StatusCode;
use secrecy::ExposeSecret;

use crate::blocking::BlockingPool;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create a user (the seed's `"signup"` strategy). Duplicate usernames fail with `409`.
    Signup,
    /// Verify a user (the seed's `"login"` strategy). Wrong credentials fail with `401`.
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
///   and a throttled account is refused even with the right password.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::local::{Bcrypt, LocalStrategy, Mode};
/// # use passport_actix::local::{Created, PasswordHash, StoredCredentials, UserStore};
/// # use passport_actix::StoreError;
/// # #[derive(Clone)] struct Users;
/// # impl UserStore for Users {
/// #     type User = String;
/// #     async fn find_for_login(&self, _: &str) -> Result<Option<StoredCredentials<String>>, StoreError> { Ok(None) }
/// #     async fn create_user(&self, u: &str, _: &PasswordHash) -> Result<Created<String>, StoreError> { Ok(Created::User(u.into())) }
/// # }
/// let users = Arc::new(Users);
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
}

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
        }
    }

    /// Sets the body field names (passport-local's `usernameField`/`passwordField`).
    pub fn fields(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.fields = FieldNames {
            username: username.into(),
            password: password.into(),
        };
        self
    }

    /// Sets the password policy for signup (its byte limit never exceeds the hasher's).
    pub fn policy(mut self, policy: PasswordPolicy) -> Self {
        let max = match (policy_max(&policy), self.hasher.max_password_bytes()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.policy = policy.max_bytes(max);
        self
    }

    /// Counts login attempts per username and refuses throttled accounts.
    pub fn throttle<T: LoginThrottle>(mut self, throttle: Arc<T>) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Replaces the username normalizer (default: [`normalize_email`]).
    pub fn normalizer(mut self, normalize: fn(&str) -> Result<String, Failure>) -> Self {
        self.normalize = normalize;
        self
    }

    /// Runs hashing on this pool instead of the shared one.
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
    /// # use std::sync::Arc;
    /// # use passport_actix::local::{Bcrypt, Created, LocalStrategy, Mode, PasswordHash, PasswordHasher, StoredCredentials, UserStore};
    /// # use passport_actix::{Outcome, StoreError};
    /// # struct Users(PasswordHash);
    /// # impl UserStore for Users {
    /// #     type User = String;
    /// #     async fn find_for_login(&self, u: &str) -> Result<Option<StoredCredentials<String>>, StoreError> {
    /// #         Ok(Some(StoredCredentials { user: u.into(), password_hash: self.0.clone() }))
    /// #     }
    /// #     async fn create_user(&self, u: &str, _: &PasswordHash) -> Result<Created<String>, StoreError> { Ok(Created::User(u.into())) }
    /// # }
    /// # actix_web::rt::System::new().block_on(async {
    /// let hasher = Arc::new(Bcrypt::new(4).unwrap());
    /// let stored = hasher.hash(b"correct horse battery").unwrap();
    /// let login = LocalStrategy::new(Mode::Login, Arc::new(Users(stored)), hasher);
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
        self.login(username, credentials).await
    }

    /// Checks a new password against the signup policy (for `username`) and hashes it on the
    /// blocking pool: a policy violation is the signup's `422` failure.
    pub async fn hash_new_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<crate::local::PasswordHash, NewPasswordError> {
        if let Err(violation) = self.policy.check(password, username) {
            return Err(NewPasswordError::Policy(self.policy.failure(violation)));
        }
        let hasher = Arc::clone(&self.hasher);
        let password = secrecy::SecretString::from(password);
        self.pool
            .run(move || hasher.hash(password.expose_secret().as_bytes()))
            .await
            .and_then(|r| r.map_err(|e| StrategyError::internal("hashing the password", e)))
            .map_err(NewPasswordError::Hash)
    }

    async fn signup(&self, username: String, credentials: Credentials) -> Outcome<S::User> {
        let password = credentials.password.expose_secret();
        if let Err(violation) = self.policy.check(password, &username) {
            return Outcome::Fail(self.policy.failure(violation));
        }
        let Some(admission) = self.pool.try_admit() else {
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

    async fn login(&self, username: String, credentials: Credentials) -> Outcome<S::User> {
        if self
            .hasher
            .max_password_bytes()
            .is_some_and(|max| credentials.password_bytes().len() > max)
        {
            return Outcome::Fail(self.policy.failure(crate::local::PolicyViolation::TooLong));
        }
        // Before the throttle counts an attempt or the store is read: a turned-away login
        // costs nothing but this check.
        let Some(admission) = self.pool.try_admit() else {
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
                if let Some(throttle) = &self.throttle
                    && let Err(error) = throttle.clear_boxed(&username).await
                {
                    return Outcome::Error(error.into_strategy_error("clearing login attempts"));
                }
                if let Some(new_hash) = rehashed
                    && let Err(error) = self.store.update_password_hash(&user, &new_hash).await
                {
                    // The login itself succeeded; the upgrade is retried at the next one.
                    tracing::warn!(error = %error, "storing the rehashed password failed");
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
#[derive(Debug)]
pub enum NewPasswordError {
    /// The password breaks the policy (answer the failure, a `422`).
    Policy(Failure),
    /// Hashing failed (an internal error).
    Hash(StrategyError),
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
        match self.mode {
            Mode::Signup => self.signup(username, credentials).await,
            Mode::Login => self.login(username, credentials).await,
        }
    }
}
