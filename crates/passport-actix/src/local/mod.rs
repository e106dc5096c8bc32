//! The local strategy (mirrors passport-local): email and password from the request body,
//! in two modes, **signup** (create a user) and **login** (verify one).

#[cfg(feature = "argon2")]
mod argon2;
mod credentials;
mod email;
mod hasher;
mod policy;
mod store;
mod strategy;

#[cfg(feature = "argon2")]
#[cfg_attr(docsrs, doc(cfg(feature = "argon2")))]
pub use argon2::{Argon2id, Argon2idParams, OWASP_ARGON2ID};
pub use credentials::{Credentials, FieldNames};
pub use email::{MAX_EMAIL_LEN, normalize_email};
pub use hasher::{
    BCRYPT_MAX_PASSWORD_BYTES, Bcrypt, DEFAULT_BCRYPT_COST, Migrating, PasswordHash, PasswordHasher,
};
pub use policy::{PasswordPolicy, PolicyViolation};
pub use store::{Attempt, Created, LoginThrottle, StoredCredentials, UserStore};
pub use strategy::{BUSY_RETRY_AFTER, INVALID_CREDENTIALS, LocalStrategy, Mode, NewPasswordError};
