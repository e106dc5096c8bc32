//! What the local strategy needs from the application: a user store and a login throttle.

use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use crate::error::StoreError;
use crate::local::hasher::PasswordHash;

/// A user found for login, with the stored hash to verify against.
///
/// # Examples
///
/// ```
/// use passport_actix::local::{PasswordHash, StoredCredentials};
///
/// let found = StoredCredentials {
///     user: "ada@example.com".to_owned(),
///     password_hash: PasswordHash::new("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"),
/// };
/// assert!(!format!("{found:?}").contains("$2b$"), "Debug never prints the hash");
/// ```
#[derive(Debug, Clone)]
pub struct StoredCredentials<U> {
    /// The user.
    pub user: U,
    /// The stored password hash.
    pub password_hash: PasswordHash,
}

/// The result of creating a user.
///
/// # Examples
///
/// ```
/// use passport_actix::local::Created;
///
/// fn describe(created: Created<String>) -> String {
///     match created {
///         Created::User(user) => format!("welcome, {user}"),
///         Created::AlreadyExists => "that email is taken".to_owned(), // the strategy answers 409
///     }
/// }
/// assert_eq!(describe(Created::User("ada".into())), "welcome, ada");
/// assert_eq!(describe(Created::AlreadyExists), "that email is taken");
/// ```
#[derive(Debug, Clone)]
pub enum Created<U> {
    /// The user was created.
    User(U),
    /// A user with this (normalized) username already exists.
    AlreadyExists,
}

/// Where users live. The shipped stores implement it (`store::SqlStore` on PostgreSQL or
/// SQLite, `store::MemoryStore` in memory); implement it yourself over another database.
///
/// Usernames arrive normalized (for emails: trimmed and lower-cased). `create_user` must be
/// atomic: two concurrent calls for one username give one `User` and one `AlreadyExists`
/// (a unique constraint does this), never two users and never an error.
///
/// Implement the methods as plain `async fn`s.
///
/// # Examples
///
/// Writing a store: an in-memory one (use your database in a real application, or a shipped
/// store), and a login with it:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use actix_web::test::TestRequest;
/// use passport_actix::local::{Bcrypt, Created, LocalStrategy, Mode, PasswordHash, StoredCredentials, UserStore};
/// use passport_actix::{AuthRequest, Authenticate, Outcome, StoreError};
///
/// #[derive(Default)]
/// struct Users(Mutex<HashMap<String, PasswordHash>>);
///
/// impl UserStore for Users {
///     type User = String;
///
///     async fn find_for_login(&self, username: &str) -> Result<Option<StoredCredentials<String>>, StoreError> {
///         let users = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         Ok(users.get(username).map(|hash| StoredCredentials { user: username.to_owned(), password_hash: hash.clone() }))
///     }
///
///     async fn create_user(&self, username: &str, hash: &PasswordHash) -> Result<Created<String>, StoreError> {
///         let mut users = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         if users.contains_key(username) {
///             return Ok(Created::AlreadyExists);
///         }
///         users.insert(username.to_owned(), hash.clone());
///         Ok(Created::User(username.to_owned()))
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let users = Arc::new(Users::default());
/// let hasher = Arc::new(Bcrypt::new(4).unwrap()); // a low cost for the example only
/// let signup = LocalStrategy::new(Mode::Signup, users.clone(), hasher.clone());
/// let login = LocalStrategy::new(Mode::Login, users, hasher);
/// let form = |body: &'static str| {
///     let http = TestRequest::post().insert_header(("content-type", "application/x-www-form-urlencoded")).to_http_request();
///     AuthRequest::with_body(http, body.into())
/// };
/// let body = "email=Ada%40Example.com&password=correct+horse+battery";
/// assert!(matches!(signup.authenticate(&form(body)).await, Outcome::Success { .. }));
/// assert!(matches!(login.authenticate(&form(body)).await, Outcome::Success { user, .. } if user == "ada@example.com"));
/// let Outcome::Fail(failure) = login.authenticate(&form("email=ada%40example.com&password=wrong")).await else { panic!() };
/// assert_eq!(failure.status(), 401);
/// # });
/// ```
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
    /// [needed a rehash](crate::local::PasswordHasher::needs_rehash): a compare-and-swap, so
    /// that only the hash that was verified (`verified`) is replaced by `new`
    /// (`UPDATE users SET password_hash = $new WHERE id = $id AND password_hash = $verified`).
    ///
    /// Returns `true` when the hash was swapped (or the store keeps hashes as they are), and
    /// `false` when the stored hash is no longer `verified`: the password was changed between
    /// the check and now, and the login is refused as with a wrong password. An unconditional
    /// write here would store a fresh hash of the *old* password over the new one, undoing
    /// the change. The default keeps the old hash and answers `true` (a store that cannot
    /// update loses nothing but the upgrade).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::Mutex;
    /// use passport_actix::local::{Created, PasswordHash, StoredCredentials, UserStore};
    /// use passport_actix::StoreError;
    ///
    /// struct Users(Mutex<HashMap<String, PasswordHash>>);
    ///
    /// impl UserStore for Users {
    ///     type User = String;
    /// #   async fn find_for_login(&self, _: &str) -> Result<Option<StoredCredentials<String>>, StoreError> { Ok(None) }
    /// #   async fn create_user(&self, u: &str, _: &PasswordHash) -> Result<Created<String>, StoreError> { Ok(Created::User(u.into())) }
    ///     async fn update_password_hash(&self, user: &String, verified: &PasswordHash, new: &PasswordHash) -> Result<bool, StoreError> {
    ///         let mut users = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
    ///         match users.get_mut(user) {
    ///             Some(stored) if stored.as_str() == verified.as_str() => {
    ///                 *stored = new.clone();
    ///                 Ok(true)
    ///             }
    ///             _ => Ok(false), // changed meanwhile: keep the newer hash
    ///         }
    ///     }
    /// }
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let users = Users(Mutex::new(HashMap::from([("ada".to_owned(), PasswordHash::new("$2b$12$changed"))])));
    /// let swapped = users
    ///     .update_password_hash(&"ada".to_owned(), &PasswordHash::new("$2b$04$old"), &PasswordHash::new("$2b$12$new"))
    ///     .await
    ///     .unwrap();
    /// assert!(!swapped, "a hash changed since the check is never overwritten");
    /// # });
    /// ```
    fn update_password_hash(
        &self,
        _user: &Self::User,
        _verified: &PasswordHash,
        _new: &PasswordHash,
    ) -> impl Future<Output = Result<bool, StoreError>> {
        async { Ok(true) }
    }

    /// Whether `user` has a second factor (for example a confirmed TOTP): then a right
    /// password is only the first step of a login, and the strategy leaves the account's
    /// [`LoginThrottle`] count as it is — the application clears it when the second step
    /// completes, so wrong codes after a right password keep counting. The default: no.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{Created, PasswordHash, StoredCredentials, UserStore};
    /// use passport_actix::StoreError;
    ///
    /// struct Users;
    /// impl UserStore for Users {
    ///     type User = String;
    ///     async fn find_for_login(&self, _: &str) -> Result<Option<StoredCredentials<String>>, StoreError> { Ok(None) }
    ///     async fn create_user(&self, u: &str, _: &PasswordHash) -> Result<Created<String>, StoreError> { Ok(Created::User(u.into())) }
    ///     async fn has_second_factor(&self, user: &String) -> Result<bool, StoreError> {
    ///         Ok(user == "ada@example.com") // look it up in your database
    ///     }
    /// }
    /// # actix_web::rt::System::new().block_on(async {
    /// assert!(Users.has_second_factor(&"ada@example.com".to_owned()).await.unwrap());
    /// # });
    /// ```
    fn has_second_factor(
        &self,
        _user: &Self::User,
    ) -> impl Future<Output = Result<bool, StoreError>> {
        async { Ok(false) }
    }
}

/// The answer of a [`LoginThrottle`] to one login attempt.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use passport_actix::local::Attempt;
///
/// let attempt = Attempt::Throttled { retry_after: Duration::from_secs(60) };
/// assert_ne!(attempt, Attempt::Allowed);
/// ```
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
///
/// # Examples
///
/// Writing a throttle: at most five attempts per account, in memory (a real one expires the
/// counts, as the shipped stores' windowed throttle does):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use passport_actix::local::{Attempt, LoginThrottle};
/// use passport_actix::StoreError;
///
/// #[derive(Default)]
/// struct FiveTries(Mutex<HashMap<String, u32>>);
///
/// impl LoginThrottle for FiveTries {
///     async fn register_attempt(&self, username: &str) -> Result<Attempt, StoreError> {
///         let mut counts = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
///         let count = counts.entry(username.to_owned()).or_default();
///         *count += 1;
///         Ok(if *count > 5 { Attempt::Throttled { retry_after: Duration::from_secs(60) } } else { Attempt::Allowed })
///     }
///
///     async fn clear(&self, username: &str) -> Result<(), StoreError> {
///         self.0.lock().map_err(|_| StoreError::other("poisoned"))?.remove(username);
///         Ok(())
///     }
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let throttle = FiveTries::default();
/// for _ in 0..5 {
///     assert_eq!(throttle.register_attempt("ada@example.com").await.unwrap(), Attempt::Allowed);
/// }
/// assert!(matches!(throttle.register_attempt("ada@example.com").await.unwrap(), Attempt::Throttled { .. }));
/// # });
/// ```
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
