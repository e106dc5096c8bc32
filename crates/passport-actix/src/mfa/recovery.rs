//! Single-use recovery codes, stored only as digests.

use std::fmt;

use rand::Rng;

/// The entropy of one [`RecoveryCode`]: 80 bits (16 characters of a 32-letter alphabet).
/// Far above the 50 bits a code needs online, and enough that its SHA-256 digest cannot be
/// reversed by guessing if the table leaks.
pub const RECOVERY_CODE_BITS: u32 = 80;

/// Crockford's base-32 alphabet in lower case: no `i`, `l`, `o` or `u` to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const CHARS: usize = 16;

/// A recovery code: shown to the user once (`xxxx-xxxx-xxxx-xxxx`), stored only as its
/// [`RecoveryCodeHash`], good for one login when the authenticator app is lost.
///
/// `Debug` never prints the code.
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::RecoveryCode;
///
/// let codes = RecoveryCode::generate_set(10);
/// assert_eq!(codes.len(), 10);
/// let shown = codes[0].as_str();
/// assert_eq!(shown.len(), 19);
/// // What the user types later, in any case and with or without the dashes:
/// let typed = shown.to_uppercase().replace('-', "");
/// assert_eq!(RecoveryCode::hash_presented(&typed), Some(codes[0].hash()));
/// assert_eq!(format!("{:?}", codes[0]), "RecoveryCode([redacted])");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

/// The SHA-256 (hex) of a recovery code's 16 characters: what the store keeps.
///
/// # Examples
///
/// ```
/// use passport_actix::mfa::RecoveryCode;
///
/// let hash = RecoveryCode::generate().hash();
/// assert_eq!(hash.as_str().len(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecoveryCodeHash(String);

impl RecoveryCodeHash {
    /// The digest as 64 lower-case hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl RecoveryCode {
    /// A new code from the operating system's CSPRNG.
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::RecoveryCode;
    ///
    /// assert_ne!(RecoveryCode::generate(), RecoveryCode::generate());
    /// ```
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut out = String::with_capacity(CHARS + 3);
        for i in 0..CHARS {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            let index = rng.random_range(0..ALPHABET.len());
            out.push(char::from(ALPHABET[index]));
        }
        Self(out)
    }

    /// `n` new codes (a set to show at enrolment).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::RecoveryCode;
    ///
    /// assert_eq!(RecoveryCode::generate_set(3).len(), 3);
    /// ```
    pub fn generate_set(n: usize) -> Vec<Self> {
        (0..n).map(|_| Self::generate()).collect()
    }

    /// The code as shown to the user.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its digest, to store.
    pub fn hash(&self) -> RecoveryCodeHash {
        digest(&self.0.replace('-', ""))
    }

    /// The digest of a code a user typed (case and dashes ignored), or `None` when it cannot
    /// be a recovery code at all (wrong length, a character outside the alphabet, spaces).
    ///
    /// # Examples
    ///
    /// ```
    /// use passport_actix::mfa::RecoveryCode;
    ///
    /// assert!(RecoveryCode::hash_presented("0000-0000-0000-000").is_none());
    /// assert!(RecoveryCode::hash_presented("0000 0000 0000 0000").is_none());
    /// assert!(RecoveryCode::hash_presented("0000-0000-0000-0000").is_some());
    /// ```
    pub fn hash_presented(presented: &str) -> Option<RecoveryCodeHash> {
        let compact: String = presented
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        (compact.len() == CHARS && compact.bytes().all(|b| ALPHABET.contains(&b)))
            .then(|| digest(&compact))
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode([redacted])")
    }
}

fn digest(compact: &str) -> RecoveryCodeHash {
    RecoveryCodeHash(crate::opaque::sha256_hex(compact))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_carries_80_bits_over_an_alphabet_of_32() {
        assert_eq!(ALPHABET.len(), 32);
        assert_eq!(CHARS as u32 * 5, RECOVERY_CODE_BITS);
        let code = RecoveryCode::generate();
        assert!(code.as_str().split('-').all(|group| group.len() == 4));
    }

    #[test]
    fn codes_do_not_repeat_and_hash_back() {
        let codes = RecoveryCode::generate_set(200);
        let unique: std::collections::HashSet<_> = codes.iter().map(RecoveryCode::hash).collect();
        assert_eq!(unique.len(), 200);
        for code in &codes {
            assert_eq!(
                RecoveryCode::hash_presented(code.as_str()),
                Some(code.hash())
            );
        }
    }
}
