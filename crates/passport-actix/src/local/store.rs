//! What the local strategy needs from the application: a user store and a login throttle.

use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use crate::error::StoreError;
use crate::local::hasher::PasswordHash;

/// A user found for login, with the stored hash to verify against.
#[derive(Debug, Clone)]
pub struct StoredCredentials<U> {
    /// The user.
    pub user: U,
    /// The stored password hash.
    pub password_hash: PasswordHash,
}

/// The result of creating a user.
#[derive(Debug, Clone)]
pub enum Created<U> {
    /// The user was created.
    User(U),
    /// A user with this (normalized) username already exists.
    AlreadyExists,
}

/// Where users live. The application implements it over its database.
///
/// Usernames arrive normalized (for emails: trimmed and lower-cased). `create_user` must be
/// atomic: two concurrent calls for one username give one `User` and one `AlreadyExists`
/// (a unique constraint does this), never two users and never an error.
///
/// Implement the methods as plain `async fn`s.
pub trait UserStore: Send + Sync + 'static {
    /// The user type handed to handlers. It must not carry the password hash.
    type User: Clone + Send + 'static;

    /// The user with this username and their password hash, if any.
    fn find_for_login(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<StoredCredentials<Self::User>>, StoreError>>;

    /// Creates a user with this username and password hash.
    fn create_user(
        &self,
        username: &str,
        password_hash: &PasswordHash,
    ) -> impl Future<Output = Result<Created<Self::User>, StoreError>>;

    /// Replaces `user`'s hash after a successful login whose stored hash
    /// [needed a rehash](crate::local::PasswordHasher::needs_rehash). The default keeps the old
    /// hash (a store that cannot update loses nothing but the upgrade).
    fn update_password_hash(
        &self,
        _user: &Self::User,
        _password_hash: &PasswordHash,
    ) -> impl Future<Output = Result<(), StoreError>> {
        async { Ok(()) }
    }
}

/// The answer of a [`LoginThrottle`] to one login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The attempt may go ahead.
    Allowed,
    /// Too many attempts: refuse, even with the right password, for `retry_after`.
    Throttled {
        /// How long until the account may try again.
        retry_after: Duration,
    },
}

/// Limits login attempts per account (OWASP ASVS 6.3.1, NIST SP 800-63B §5.2.2).
///
/// The strategy asks before verifying any password, keyed by the submitted normalized
/// username whether or not such a user exists, and clears the count after a success.
/// `register_attempt` must count atomically, so that concurrent attempts never let more
/// guesses through than the limit.
///
/// Implement the methods as plain `async fn`s.
pub trait LoginThrottle: Send + Sync + 'static {
    /// Counts one attempt for `username` and says whether it may go ahead.
    fn register_attempt(&self, username: &str)
    -> impl Future<Output = Result<Attempt, StoreError>>;

    /// Forgets the attempts for `username` (after a successful login).
    fn clear(&self, username: &str) -> impl Future<Output = Result<(), StoreError>>;
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + 'a>>;

/// [`LoginThrottle`] made object-safe, so a strategy can hold any throttle.
pub(crate) trait DynLoginThrottle: Send + Sync + 'static {
    fn register_attempt_boxed<'a>(&'a self, username: &'a str) -> Boxed<'a, Attempt>;
    fn clear_boxed<'a>(&'a self, username: &'a str) -> Boxed<'a, ()>;
}

impl<T: LoginThrottle> DynLoginThrottle for T {
    fn register_attempt_boxed<'a>(&'a self, username: &'a str) -> Boxed<'a, Attempt> {
        Box::pin(self.register_attempt(username))
    }

    fn clear_boxed<'a>(&'a self, username: &'a str) -> Boxed<'a, ()> {
        Box::pin(self.clear(username))
    }
}
