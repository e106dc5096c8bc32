//! Opaque secrets sent to clients (refresh tokens, cookie values, one-time links): 256 bits
//! from the CSPRNG as URL-safe base64, stored only as a hex SHA-256, and recognized by their
//! shape before any digest or store look-up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a secret: 256 bits.
const SECRET_BYTES: usize = 32;
/// Its length as unpadded URL-safe base64.
const SECRET_CHARS: usize = 43;

/// A new secret: 256 CSPRNG bits as unpadded URL-safe base64 (43 characters of `[A-Za-z0-9_-]`).
pub(crate) fn generate() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `presented` can be one of [`generate`]'s secrets (length and alphabet), so that
/// empty, truncated, huge or JWT-shaped input never reaches a digest or a store.
pub(crate) fn is_shaped(presented: &str) -> bool {
    presented.len() == SECRET_CHARS
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 of `data` as 64 lower-case hex digits: what stores keep of a secret (refresh
/// tokens, cookie values, one-time links, recovery codes) or of an identifier they should not
/// hold in the clear. A fast hash is right for a 256-bit random secret (nothing to guess),
/// unlike for passwords.
///
/// # Examples
///
/// ```
/// use passport_actix::sha256_hex;
///
/// assert_eq!(
///     sha256_hex("abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
///     "FIPS 180-2's first vector",
/// );
/// assert_eq!(sha256_hex(b"abc"), sha256_hex("abc"), "bytes or text");
/// ```
pub fn sha256_hex(data: impl AsRef<[u8]>) -> String {
    let digest = Sha256::digest(data.as_ref());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_shaped_distinct_and_hash_to_hex() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(is_shaped(&a) && is_shaped(&b));
        assert!(!is_shaped(&a[1..]) && !is_shaped(&format!("{a}x")) && !is_shaped(""));
        assert!(!is_shaped(&a.replacen(|_| true, "+", 1)));
        let hex = sha256_hex("abc");
        assert_eq!(
            hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "SHA-256 of \"abc\" (FIPS 180-2)"
        );
    }
}
