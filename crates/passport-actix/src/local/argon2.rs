//! argon2id, the password hash OWASP recommends first (feature `argon2`).

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    PasswordHash as Phc, PasswordHasher as _, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::HashError;
use crate::local::hasher::{PasswordHash, PasswordHasher};

/// OWASP's first argon2id configuration: 19 MiB of memory, 2 iterations, 1 lane.
pub const OWASP_ARGON2ID: Argon2idParams = Argon2idParams {
    memory_kib: 19 * 1024,
    iterations: 2,
    parallelism: 1,
};

/// argon2id cost parameters.
///
/// # Examples
///
/// ```
/// use passport_actix::local::{Argon2idParams, OWASP_ARGON2ID};
///
/// assert_eq!(Argon2idParams::default(), OWASP_ARGON2ID);
/// let stronger = Argon2idParams { memory_kib: 64 * 1024, ..OWASP_ARGON2ID };
/// assert_eq!(stronger.iterations, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2idParams {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2idParams {
    fn default() -> Self {
        OWASP_ARGON2ID
    }
}

/// argon2id (RFC 9106) with configurable parameters, PHC strings (`$argon2id$v=19$…`).
/// Hashes with other parameters [need a rehash](PasswordHasher::needs_rehash).
///
/// # Examples
///
/// ```
/// use passport_actix::local::{Argon2id, Argon2idParams, PasswordHasher};
///
/// // Small parameters for the example only; the default is OWASP's (19 MiB, t=2, p=1).
/// let argon = Argon2id::new(Argon2idParams { memory_kib: 256, iterations: 1, parallelism: 1 }).unwrap();
/// let hash = argon.hash(b"correct horse").unwrap();
/// assert!(hash.as_str().starts_with("$argon2id$"));
/// assert!(argon.verify(b"correct horse", &hash).unwrap());
/// assert!(!argon.verify(b"wrong horse", &hash).unwrap());
/// ```
#[derive(Clone)]
pub struct Argon2id {
    params: Argon2idParams,
    argon: Argon2<'static>,
    dummy: PasswordHash,
}

impl fmt::Debug for Argon2id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2id")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

fn hash_error(error: impl fmt::Display) -> HashError {
    HashError(error.to_string().into())
}

impl Argon2id {
    /// A hasher with `params`. Computes the dummy hash once (one hash's time and memory).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::local::{Argon2id, Argon2idParams, PasswordHasher};
    ///
    /// let small = Argon2idParams { memory_kib: 256, iterations: 1, parallelism: 1 }; // for the example only
    /// let argon = Argon2id::new(small).unwrap();
    /// assert_eq!(argon.params(), small);
    /// let other = Argon2id::new(Argon2idParams { iterations: 2, ..small }).unwrap();
    /// assert!(other.needs_rehash(&argon.hash(b"correct horse").unwrap()), "other parameters: rehash");
    /// assert!(Argon2id::new(Argon2idParams { memory_kib: 1, iterations: 1, parallelism: 1 }).is_err());
    /// ```
    pub fn new(params: Argon2idParams) -> Result<Self, HashError> {
        let built = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(hash_error)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, built);
        let salt = SaltString::generate(&mut OsRng);
        let dummy = argon
            .hash_password(b"passport-actix timing equalizer", &salt)
            .map_err(hash_error)?
            .to_string();
        Ok(Self {
            params,
            argon,
            dummy: PasswordHash::new(dummy),
        })
    }

    /// The parameters.
    pub fn params(&self) -> Argon2idParams {
        self.params
    }
}

impl PasswordHasher for Argon2id {
    fn hash(&self, password: &[u8]) -> Result<PasswordHash, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password, &salt)
            .map(|h| PasswordHash::new(h.to_string()))
            .map_err(hash_error)
    }

    fn verify(&self, password: &[u8], hash: &PasswordHash) -> Result<bool, HashError> {
        let parsed = Phc::new(hash.as_str()).map_err(hash_error)?;
        // The stored string carries its own parameters; verification follows them.
        match self.argon.verify_password(password, &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(other) => Err(hash_error(other)),
        }
    }

    fn dummy_hash(&self) -> &PasswordHash {
        &self.dummy
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let Ok(parsed) = Phc::new(hash.as_str()) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm.as_str() != "argon2id"
            || params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
    }

    fn recognizes(&self, hash: &PasswordHash) -> bool {
        hash.as_str().starts_with("$argon2")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::{Bcrypt, Migrating};

    fn small() -> Argon2id {
        Argon2id::new(Argon2idParams {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn other_parameters_need_a_rehash() {
        let a = small();
        let b = Argon2id::new(Argon2idParams {
            memory_kib: 512,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        let hash = a.hash(b"pw").unwrap();
        assert!(!a.needs_rehash(&hash));
        assert!(b.needs_rehash(&hash));
        assert!(
            b.verify(b"pw", &hash).unwrap(),
            "old parameters still verify"
        );
    }

    #[test]
    fn migration_goes_both_ways() {
        let bcrypt_hash = Bcrypt::new(4).unwrap().hash(b"correct horse").unwrap();
        let argon_hash = small().hash(b"correct horse").unwrap();
        let to_argon = Migrating::new(small()).previous(Bcrypt::new(4).unwrap());
        assert!(to_argon.verify(b"correct horse", &bcrypt_hash).unwrap());
        assert!(!to_argon.verify(b"wrong", &bcrypt_hash).unwrap());
        assert!(to_argon.needs_rehash(&bcrypt_hash));
        assert!(!to_argon.needs_rehash(&argon_hash));
        assert!(
            to_argon
                .hash(b"x")
                .unwrap()
                .as_str()
                .starts_with("$argon2id$")
        );
        let to_bcrypt = Migrating::new(Bcrypt::new(4).unwrap()).previous(small());
        assert!(to_bcrypt.verify(b"correct horse", &argon_hash).unwrap());
        assert!(to_bcrypt.needs_rehash(&argon_hash));
        assert!(to_bcrypt.dummy_hash().as_str().starts_with("$2"));
        // A password too long for bcrypt cannot match a bcrypt hash: false, not an error.
        assert!(!to_argon.verify(&[b'a'; 100], &bcrypt_hash).unwrap());
        // A hash nobody recognizes never matches.
        assert!(
            !to_argon
                .verify(b"x", &PasswordHash::new("plaintext"))
                .unwrap()
        );
    }
}
