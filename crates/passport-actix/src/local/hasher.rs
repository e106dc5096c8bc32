//! Password hashing: the `PasswordHasher` trait and its bcrypt implementation.

use std::fmt;

use crate::error::HashError;

/// A stored password hash (PHC or modular crypt string). `Debug` never prints it.
///
/// # Examples
///
/// ```
/// use passport_actix::local::PasswordHash;
///
/// let hash = PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu5Vh7jqkGQFZ2W0ZsJHdcBqWsO0XFD5i");
/// assert!(hash.as_str().starts_with("$2b$"));
/// assert_eq!(format!("{hash:?}"), "PasswordHash([redacted])");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read from storage.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::PasswordHash;
    ///
    /// // From a database row.
    /// let row_value = String::from("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
    /// let hash = PasswordHash::new(row_value);
    /// assert!(hash.as_str().starts_with("$argon2id$"));
    /// ```
    pub fn new(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }

    /// The hash string, for storing.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// A slow, salted password hash. Both methods block: the local strategy calls them on a
/// [`BlockingPool`](crate::BlockingPool), never on the async executor.
///
/// # Examples
///
/// A hasher that counts the hashes it makes (for metrics), around any other:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use passport_actix::HashError;
/// use passport_actix::local::{Bcrypt, PasswordHash, PasswordHasher};
///
/// struct Counted<H> { inner: H, hashes: AtomicU64 }
///
/// impl<H: PasswordHasher> PasswordHasher for Counted<H> {
///     fn hash(&self, password: &[u8]) -> Result<PasswordHash, HashError> {
///         self.hashes.fetch_add(1, Ordering::Relaxed);
///         self.inner.hash(password)
///     }
///     fn verify(&self, password: &[u8], hash: &PasswordHash) -> Result<bool, HashError> {
///         self.inner.verify(password, hash)
///     }
///     fn dummy_hash(&self) -> &PasswordHash { self.inner.dummy_hash() }
///     fn needs_rehash(&self, hash: &PasswordHash) -> bool { self.inner.needs_rehash(hash) }
///     fn max_password_bytes(&self) -> Option<usize> { self.inner.max_password_bytes() }
///     fn recognizes(&self, hash: &PasswordHash) -> bool { self.inner.recognizes(hash) }
/// }
///
/// let hasher = Counted { inner: Bcrypt::new(4).unwrap(), hashes: AtomicU64::new(0) };
/// let hash = hasher.hash(b"correct horse").unwrap();
/// assert!(hasher.verify(b"correct horse", &hash).unwrap());
/// assert_eq!(hasher.hashes.load(Ordering::Relaxed), 1);
/// assert_eq!(hasher.max_password_bytes(), Some(72));
/// ```
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes `password` with a fresh random salt.
    fn hash(&self, password: &[u8]) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`.
    fn verify(&self, password: &[u8], hash: &PasswordHash) -> Result<bool, HashError>;

    /// A valid hash of a random password, verified against when the user does not exist so
    /// that an unknown email costs as much time as a wrong password.
    fn dummy_hash(&self) -> &PasswordHash;

    /// Whether `hash` was made with other parameters than this hasher's (for example a lower
    /// cost): the local strategy then rehashes the password after a successful login, so that
    /// raising the cost reaches existing users and the dummy hash costs what real ones do.
    fn needs_rehash(&self, _hash: &PasswordHash) -> bool {
        false
    }

    /// The longest password in bytes the algorithm can use in full (`None`: no limit).
    /// Longer passwords are refused, never truncated.
    fn max_password_bytes(&self) -> Option<usize> {
        None
    }

    /// Whether `hash` is of this hasher's scheme (by its prefix), so that a [`Migrating`]
    /// hasher knows which one verifies it. The default claims every hash.
    fn recognizes(&self, _hash: &PasswordHash) -> bool {
        true
    }
}

/// Moves stored hashes from earlier schemes to the current one, transparently: new hashes
/// and the dummy hash are the current hasher's; a hash of an earlier scheme is verified by
/// the hasher that [recognizes](PasswordHasher::recognizes) it and always
/// [needs a rehash](PasswordHasher::needs_rehash), so the next successful login stores the
/// password under the current scheme.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use passport_actix::local::{Bcrypt, Migrating, PasswordHasher};
///
/// let old = Bcrypt::new(4).unwrap();
/// let stored = old.hash(b"correct horse").unwrap();
/// // Today: bcrypt at a higher cost; hashes of the old cost still verify and get upgraded.
/// let hasher = Migrating::new(Bcrypt::new(5).unwrap()).previous(old);
/// assert!(hasher.verify(b"correct horse", &stored).unwrap());
/// assert!(hasher.needs_rehash(&stored));
/// ```
pub struct Migrating {
    current: Box<dyn PasswordHasher>,
    previous: Vec<Box<dyn PasswordHasher>>,
}

impl fmt::Debug for Migrating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migrating")
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

impl Migrating {
    /// Hashes with `current`; add earlier schemes with [`previous`](Self::previous).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{Bcrypt, Migrating, PasswordHasher};
    ///
    /// let hasher = Migrating::new(Bcrypt::new(4).unwrap());
    /// let hash = hasher.hash(b"correct horse").unwrap();
    /// assert!(!hasher.needs_rehash(&hash));
    /// ```
    pub fn new(current: impl PasswordHasher) -> Self {
        Self {
            current: Box::new(current),
            previous: Vec::new(),
        }
    }

    /// Also verifies hashes that `hasher` recognizes (and upgrades them).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "argon2")] {
    /// use passport_actix::local::{Argon2id, Argon2idParams, Bcrypt, Migrating, PasswordHasher};
    ///
    /// let small = Argon2idParams { memory_kib: 256, iterations: 1, parallelism: 1 }; // for the example only
    /// let stored = Bcrypt::new(4).unwrap().hash(b"correct horse").unwrap();
    /// // Moving from bcrypt to argon2id: old hashes verify, and are replaced at the next login.
    /// let hasher = Migrating::new(Argon2id::new(small).unwrap()).previous(Bcrypt::new(4).unwrap());
    /// assert!(hasher.verify(b"correct horse", &stored).unwrap());
    /// assert!(hasher.needs_rehash(&stored));
    /// assert!(hasher.hash(b"correct horse").unwrap().as_str().starts_with("$argon2id$"));
    /// # }
    /// ```
    pub fn previous(mut self, hasher: impl PasswordHasher) -> Self {
        self.previous.push(Box::new(hasher));
        self
    }

    fn verifier_for(&self, hash: &PasswordHash) -> Option<&dyn PasswordHasher> {
        if self.current.recognizes(hash) {
            return Some(self.current.as_ref());
        }
        self.previous
            .iter()
            .find(|h| h.recognizes(hash))
            .map(|h| h.as_ref())
    }
}

impl PasswordHasher for Migrating {
    fn hash(&self, password: &[u8]) -> Result<PasswordHash, HashError> {
        self.current.hash(password)
    }

    fn verify(&self, password: &[u8], hash: &PasswordHash) -> Result<bool, HashError> {
        let Some(hasher) = self.verifier_for(hash) else {
            return Ok(false);
        };
        // A password the earlier scheme could not have hashed (too long for it) cannot match.
        if hasher
            .max_password_bytes()
            .is_some_and(|max| password.len() > max)
        {
            return Ok(false);
        }
        hasher.verify(password, hash)
    }

    fn dummy_hash(&self) -> &PasswordHash {
        self.current.dummy_hash()
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        !self.current.recognizes(hash) || self.current.needs_rehash(hash)
    }

    fn max_password_bytes(&self) -> Option<usize> {
        self.current.max_password_bytes()
    }

    fn recognizes(&self, hash: &PasswordHash) -> bool {
        self.verifier_for(hash).is_some()
    }
}

/// bcrypt with a configurable cost ([`Bcrypt::default`]: [`DEFAULT_BCRYPT_COST`], 12).
/// Passwords over 72 bytes are refused.
///
/// # Examples
///
/// ```
/// use passport_actix::local::{Bcrypt, PasswordHasher};
///
/// let bcrypt = Bcrypt::new(4).unwrap(); // a low cost for the example only
/// let hash = bcrypt.hash(b"correct horse").unwrap();
/// assert!(bcrypt.verify(b"correct horse", &hash).unwrap());
/// assert!(!bcrypt.verify(b"wrong horse", &hash).unwrap());
/// ```
#[derive(Clone)]
pub struct Bcrypt {
    cost: u32,
    dummy: PasswordHash,
}

impl fmt::Debug for Bcrypt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bcrypt")
            .field("cost", &self.cost)
            .finish_non_exhaustive()
    }
}

/// bcrypt's input limit in bytes.
pub const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// The cost of [`Bcrypt::default`]: 12, OWASP's floor for bcrypt in new systems (about a
/// quarter of a second per hash on a server core of 2024).
pub const DEFAULT_BCRYPT_COST: u32 = 12;

impl Default for Bcrypt {
    /// bcrypt at [`DEFAULT_BCRYPT_COST`]. Computes the dummy hash once (one hash's time).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{Bcrypt, DEFAULT_BCRYPT_COST};
    ///
    /// assert_eq!(Bcrypt::default().cost(), DEFAULT_BCRYPT_COST);
    /// ```
    fn default() -> Self {
        // Cost 12 is always valid and hashing a short constant cannot fail otherwise.
        match Self::new(DEFAULT_BCRYPT_COST) {
            Ok(bcrypt) => bcrypt,
            Err(error) => unreachable!("bcrypt at cost {DEFAULT_BCRYPT_COST}: {error}"),
        }
    }
}

impl Bcrypt {
    /// A hasher with `cost` (4 to 31). Computes the dummy hash once, so this takes one hash's time.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{Bcrypt, PasswordHasher};
    ///
    /// let bcrypt = Bcrypt::new(4).unwrap(); // production: 12 or more
    /// assert_eq!(bcrypt.cost(), 4);
    /// assert!(bcrypt.dummy_hash().as_str().starts_with("$2b$04$"));
    /// assert!(Bcrypt::new(3).is_err(), "bcrypt's costs are 4 to 31");
    /// ```
    pub fn new(cost: u32) -> Result<Self, HashError> {
        // The dummy's password is irrelevant: a match against it never logs anyone in.
        let dummy = bcrypt::hash(b"passport-actix timing equalizer", cost)
            .map_err(|e| HashError(Box::new(e)))?;
        Ok(Self {
            cost,
            dummy: PasswordHash(dummy),
        })
    }

    /// The configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }
}

/// Refuses passwords bcrypt cannot use in full.
///
/// The `bcrypt` crate's `non_truncating_*` functions count the NUL terminator they append, and
/// so refuse a password of exactly 72 bytes, which bcrypt does use in full (only the terminator
/// is dropped). We check the limit ourselves and call the plain functions, which compute the
/// same hash as the non-truncating ones for every password they accept.
fn refuse_truncation(password: &[u8]) -> Result<(), HashError> {
    if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
        return Err(HashError(Box::new(bcrypt::BcryptError::Truncation(
            password.len(),
        ))));
    }
    Ok(())
}

impl PasswordHasher for Bcrypt {
    fn hash(&self, password: &[u8]) -> Result<PasswordHash, HashError> {
        refuse_truncation(password)?;
        bcrypt::hash(password, self.cost)
            .map(PasswordHash)
            .map_err(|e| HashError(Box::new(e)))
    }

    fn verify(&self, password: &[u8], hash: &PasswordHash) -> Result<bool, HashError> {
        refuse_truncation(password)?;
        bcrypt::verify(password, hash.as_str()).map_err(|e| HashError(Box::new(e)))
    }

    fn dummy_hash(&self) -> &PasswordHash {
        &self.dummy
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        // Modular crypt format: `$2b$<cost>$<salt+hash>`.
        let cost = hash
            .as_str()
            .split('$')
            .nth(2)
            .and_then(|c| c.parse::<u32>().ok());
        cost != Some(self.cost)
    }

    fn max_password_bytes(&self) -> Option<usize> {
        Some(BCRYPT_MAX_PASSWORD_BYTES)
    }

    fn recognizes(&self, hash: &PasswordHash) -> bool {
        hash.as_str().starts_with("$2")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_of_another_cost_need_a_rehash() {
        let old = Bcrypt::new(4).unwrap();
        let new = Bcrypt::new(5).unwrap();
        let hash = old.hash(b"correct horse").unwrap();
        assert!(!old.needs_rehash(&hash));
        assert!(new.needs_rehash(&hash));
        assert!(!new.needs_rehash(new.dummy_hash()));
        assert!(new.needs_rehash(&PasswordHash::new("not a bcrypt hash")));
    }

    #[test]
    fn every_hash_has_its_own_salt() {
        let bcrypt = Bcrypt::new(4).unwrap();
        let a = bcrypt.hash(b"same password").unwrap();
        let b = bcrypt.hash(b"same password").unwrap();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with("$2b$04$"));
    }

    #[test]
    fn long_passwords_are_refused_not_truncated() {
        let bcrypt = Bcrypt::new(4).unwrap();
        assert!(bcrypt.hash(&[b'a'; 73]).is_err());
        let hash = bcrypt.hash(&[b'a'; 72]).unwrap();
        assert!(
            bcrypt.verify(&[b'a'; 72], &hash).unwrap(),
            "72 bytes are used in full"
        );
        assert!(!bcrypt.verify(&[b'a'; 71], &hash).unwrap());
        assert!(
            bcrypt.verify(&[b'a'; 73], &hash).is_err()
                || !bcrypt.verify(&[b'a'; 73], &hash).unwrap()
        );
    }

    #[test]
    fn hashes_match_the_non_truncating_functions_below_the_limit() {
        let bcrypt = Bcrypt::new(4).unwrap();
        let theirs = PasswordHash(bcrypt::non_truncating_hash(b"correct horse", 4).unwrap());
        assert!(bcrypt.verify(b"correct horse", &theirs).unwrap());
        let ours = bcrypt.hash(b"correct horse").unwrap();
        assert!(bcrypt::non_truncating_verify(b"correct horse", ours.as_str()).unwrap());
    }

    #[test]
    fn debug_hides_hashes() {
        let bcrypt = Bcrypt::new(4).unwrap();
        let hash = bcrypt.hash(b"pw").unwrap();
        assert!(!format!("{hash:?}").contains("$2b$"));
        assert!(!format!("{bcrypt:?}").contains("$2b$"));
    }
}
