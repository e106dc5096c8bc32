//! The flow cookie: `state`, `nonce` and PKCE verifier, signed with HMAC-SHA256.
//!
//! Format: `base64url(json) "." base64url(HMAC(key, name "\0" base64url(json)))`. The cookie's
//! name is under the MAC, so a cookie of one provider cannot be replayed as another's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The shortest flow cookie key accepted, in bytes.
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

/// The largest cookie value opened (a sealed flow is about 300 bytes).
const MAX_COOKIE_BYTES: usize = 1024;

/// What the browser carries between the two legs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FlowState {
    #[serde(rename = "s")]
    pub(super) state: String,
    #[serde(rename = "n")]
    pub(super) nonce: String,
    #[serde(rename = "v")]
    pub(super) verifier: String,
    /// Seconds since the epoch after which the flow is refused.
    #[serde(rename = "e")]
    pub(super) expires: u64,
}

fn mac(key: &[u8], name: &str, payload: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(name.as_bytes());
    mac.update(b"\0");
    mac.update(payload.as_bytes());
    mac
}

/// Serializes and signs `flow`.
pub(super) fn seal(key: &[u8], name: &str, flow: &FlowState) -> String {
    let json = serde_json::to_vec(flow).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = URL_SAFE_NO_PAD.encode(mac(key, name, &payload).finalize().into_bytes());
    format!("{payload}.{tag}")
}

/// Checks the signature and the expiry of a cookie value; `None` for anything wrong.
pub(super) fn open(key: &[u8], name: &str, value: &str, now: u64) -> Option<FlowState> {
    if value.len() > MAX_COOKIE_BYTES {
        return None;
    }
    let (payload, tag) = value.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    mac(key, name, payload).verify_slice(&tag).ok()?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let flow: FlowState = serde_json::from_slice(&json).ok()?;
    (now <= flow.expires).then_some(flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> FlowState {
        FlowState {
            state: "st".into(),
            nonce: "no".into(),
            verifier: "ve".into(),
            expires: 1_000,
        }
    }

    #[test]
    fn a_sealed_flow_opens_with_the_same_key_and_name() {
        let sealed = seal(&[1; 32], "c", &flow());
        assert_eq!(open(&[1; 32], "c", &sealed, 1_000), Some(flow()));
    }

    #[test]
    fn another_key_or_name_is_refused() {
        let sealed = seal(&[1; 32], "c", &flow());
        assert_eq!(open(&[2; 32], "c", &sealed, 0), None);
        assert_eq!(open(&[1; 32], "d", &sealed, 0), None);
    }

    #[test]
    fn an_expired_flow_is_refused() {
        let sealed = seal(&[1; 32], "c", &flow());
        assert_eq!(open(&[1; 32], "c", &sealed, 1_001), None);
    }

    #[test]
    fn a_tampered_payload_or_tag_is_refused() {
        let sealed = seal(&[1; 32], "c", &flow());
        let (payload, tag) = sealed.split_once('.').unwrap_or_default();
        let mut other = flow();
        other.state = "evil".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap_or_default());
        assert_eq!(
            open(&[1; 32], "c", &format!("{forged_payload}.{tag}"), 0),
            None
        );
        let mut bad_tag = tag.to_owned();
        bad_tag.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" });
        assert_eq!(
            open(&[1; 32], "c", &format!("{payload}.{bad_tag}"), 0),
            None
        );
        assert_eq!(open(&[1; 32], "c", payload, 0), None);
        assert_eq!(open(&[1; 32], "c", "", 0), None);
        assert_eq!(open(&[1; 32], "c", &"a".repeat(5000), 0), None);
    }
}
