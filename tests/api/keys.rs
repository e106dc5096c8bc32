//! Signing keys (HTTP contract v2): EdDSA, ES256 and RS256 tokens carry the RFC 7638 `kid` of
//! their key, `/.well-known/jwks.json` publishes every accepted public key, verify-only keys
//! are accepted during a rotation, and a token without a `kid`, with an unknown one, signed by
//! another key or naming another algorithm (HS256 included) is refused.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use passport_actix::jwt::SigningKey;
use passport_e2e::{Backend, Captured, TEST_JWT_SECRET, TestApp};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// One `#[tokio::test]` per asymmetric algorithm for an `async fn(Algorithm)`, on PostgreSQL.
macro_rules! for_each_algorithm {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn eddsa() {
                super::$name(jsonwebtoken::Algorithm::EdDSA).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn es256() {
                super::$name(jsonwebtoken::Algorithm::ES256).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rs256() {
                super::$name(jsonwebtoken::Algorithm::RS256).await
            }
        }
    )+};
}

for_each_algorithm!(
    the_jwks_publishes_every_accepted_public_key_under_its_thumbprint,
    login_tokens_carry_the_algorithm_and_the_kid_of_the_signing_key,
    tokens_signed_by_verify_only_keys_are_accepted,
    tokens_without_kid_with_an_unknown_kid_or_signed_by_another_key_are_refused,
    tokens_naming_another_algorithm_hs256_included_are_refused,
    the_session_rules_hold_with_asymmetric_keys,
);

const EMAIL: &str = "keys@example.com";
const PASSWORD: &str = "correct horse battery";

/// The keys of one algorithm, made once per test binary (RSA generation is slow).
struct Keys {
    /// `JWT_PRIVATE_KEY_FILE`.
    signing: SigningKey,
    /// In `JWT_VERIFY_KEY_FILES` as a private key.
    old_private: SigningKey,
    /// In `JWT_VERIFY_KEY_FILES` as a public key.
    old_public: SigningKey,
    /// Known to no server.
    foreign: SigningKey,
}

fn keys(alg: Algorithm) -> &'static Keys {
    static EDDSA: OnceLock<Keys> = OnceLock::new();
    static ES256: OnceLock<Keys> = OnceLock::new();
    static RS256: OnceLock<Keys> = OnceLock::new();
    let cell = match alg {
        Algorithm::EdDSA => &EDDSA,
        Algorithm::ES256 => &ES256,
        _ => &RS256,
    };
    cell.get_or_init(|| {
        let new = || SigningKey::generate(alg).unwrap();
        Keys {
            signing: new(),
            old_private: new(),
            old_public: new(),
            foreign: new(),
        }
    })
}

/// A folder of key files (mode 0600), removed on drop.
pub(crate) struct KeyFiles(PathBuf);

impl KeyFiles {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("passport-e2e-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn write(&self, name: &str, pem: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, pem).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for KeyFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server signing with `alg` (JWT_SECRET still set, as in every test environment), one
/// user and their login token.
struct Keyed {
    app: TestApp,
    keys: &'static Keys,
    token: String,
}

impl Keyed {
    async fn spawn(alg: Algorithm) -> Self {
        let keys = keys(alg);
        let files = KeyFiles::new();
        let signing = files.write("signing.pem", &keys.signing.to_pkcs8_pem().unwrap());
        let old_private = files.write("old.pem", &keys.old_private.to_pkcs8_pem().unwrap());
        let old_public = files.write(
            "old.pub.pem",
            &keys.old_public.verifying_key().to_public_pem().unwrap(),
        );
        let app = TestApp::spawn_with(Backend::Postgres, |env| {
            env.insert("JWT_ALGORITHM".into(), name(alg).into());
            env.insert("JWT_PRIVATE_KEY_FILE".into(), signing);
            env.insert(
                "JWT_VERIFY_KEY_FILES".into(),
                format!("{old_private}, {old_public}"),
            );
        })
        .await;
        let token = app.token_for(EMAIL, PASSWORD).await;
        Self { app, keys, token }
    }

    /// The claims of the real login token.
    fn claims(&self) -> Value {
        let payload = self.token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    /// The real token's claims under `header`, signed with `key`.
    fn forge(&self, header: &Header, key: &EncodingKey) -> String {
        jsonwebtoken::encode(header, &self.claims(), key).unwrap()
    }

    async fn profile(&self, token: &str) -> Captured {
        Captured::from(self.app.profile_with_bearer(token).await).await
    }

    async fn assert_refused(&self, token: &str, what: &str) {
        for response in [
            self.app.profile_with_bearer(token).await,
            self.app.profile_with_query(token).await,
        ] {
            let captured = Captured::from(response).await;
            assert_eq!(captured.status, 401, "{what}: {}", captured.body);
            assert!(captured.json()["error"].is_string(), "{what}");
            let challenge = captured.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
                "{what}: {challenge}"
            );
        }
    }
}

fn name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::EdDSA => "EdDSA",
        Algorithm::ES256 => "ES256",
        Algorithm::RS256 => "RS256",
        _ => unreachable!("not an asymmetric algorithm of the contract"),
    }
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("JWT".into());
    header.kid = kid.map(str::to_owned);
    header
}

/// RFC 7638 computed here from the published members, independently of the server's code.
fn thumbprint(jwk: &Map<String, Value>) -> String {
    let required: &[&str] = match jwk["kty"].as_str().unwrap() {
        "OKP" => &["crv", "kty", "x"],
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        other => panic!("unexpected kty {other}"),
    };
    let members: Vec<String> = required
        .iter()
        .map(|m| format!("\"{m}\":\"{}\"", jwk[*m].as_str().unwrap()))
        .collect();
    let canonical = format!("{{{}}}", members.join(","));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

async fn the_jwks_publishes_every_accepted_public_key_under_its_thumbprint(alg: Algorithm) {
    let keyed = Keyed::spawn(alg).await;
    let response = Captured::from(
        keyed
            .app
            .client
            .get(keyed.app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let cache = response.header("cache-control").unwrap();
    let max_age: u64 = cache
        .strip_prefix("public, max-age=")
        .unwrap_or_else(|| panic!("{cache}"))
        .parse()
        .unwrap();
    assert!(max_age > 0);

    let body = response.json();
    assert_eq!(body.as_object().unwrap().len(), 1, "only \"keys\": {body}");
    let (kty, params): (&str, &[&str]) = match alg {
        Algorithm::EdDSA => ("OKP", &["crv", "x"]),
        Algorithm::ES256 => ("EC", &["crv", "x", "y"]),
        _ => ("RSA", &["e", "n"]),
    };
    let mut kids = BTreeSet::new();
    for jwk in body["keys"].as_array().unwrap() {
        let jwk = jwk.as_object().unwrap();
        let members: BTreeSet<&str> = jwk.keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = ["kty", "kid", "alg", "use"]
            .iter()
            .chain(params)
            .copied()
            .collect();
        assert_eq!(members, expected, "public members only: {jwk:?}");
        assert_eq!(jwk["kty"], kty);
        assert_eq!(jwk["alg"], name(alg));
        assert_eq!(jwk["use"], "sig");
        match alg {
            Algorithm::EdDSA => assert_eq!(jwk["crv"], "Ed25519"),
            Algorithm::ES256 => assert_eq!(jwk["crv"], "P-256"),
            _ => assert_eq!(jwk["e"], "AQAB"),
        }
        assert_eq!(
            jwk["kid"],
            thumbprint(jwk),
            "kid is the RFC 7638 thumbprint"
        );
        kids.insert(jwk["kid"].as_str().unwrap().to_owned());
    }
    let k = keyed.keys;
    let expected: BTreeSet<String> = [&k.signing, &k.old_private, &k.old_public]
        .iter()
        .map(|key| key.kid().to_owned())
        .collect();
    assert_eq!(kids, expected, "the signing key and both verify-only keys");
    assert!(!kids.contains(k.foreign.kid()));
}

async fn login_tokens_carry_the_algorithm_and_the_kid_of_the_signing_key(alg: Algorithm) {
    let keyed = Keyed::spawn(alg).await;
    let header = jsonwebtoken::decode_header(&keyed.token).unwrap();
    assert_eq!(header.alg, alg);
    assert_eq!(header.kid.as_deref(), Some(keyed.keys.signing.kid()));
    let profile = keyed.profile(&keyed.token).await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    assert_eq!(profile.json()["user"]["email"], EMAIL);
    let query = keyed.app.profile_with_query(&keyed.token).await;
    assert_eq!(query.status(), 200);
}

async fn tokens_signed_by_verify_only_keys_are_accepted(alg: Algorithm) {
    let keyed = Keyed::spawn(alg).await;
    // The forging is faithful: the same claims under the signing key are accepted.
    let k = keyed.keys;
    for key in [&k.signing, &k.old_private, &k.old_public] {
        let token = keyed.forge(&header(alg, Some(key.kid())), key.encoding_key());
        let profile = keyed.profile(&token).await;
        assert_eq!(profile.status, 200, "{}", profile.body);
        assert_eq!(profile.json()["user"]["email"], EMAIL);
    }
}

async fn tokens_without_kid_with_an_unknown_kid_or_signed_by_another_key_are_refused(
    alg: Algorithm,
) {
    let keyed = Keyed::spawn(alg).await;
    let k = keyed.keys;
    let real = k.signing.kid();
    let cases = [
        ("no kid", header(alg, None), &k.signing),
        (
            "unknown kid",
            header(alg, Some(k.foreign.kid())),
            &k.foreign,
        ),
        (
            "a foreign key with the real kid",
            header(alg, Some(real)),
            &k.foreign,
        ),
        (
            "a verify-only key under the signing key's kid",
            header(alg, Some(real)),
            &k.old_private,
        ),
        ("an empty kid", header(alg, Some("")), &k.signing),
        (
            "the signing key under an unknown kid",
            header(alg, Some("no-such-kid")),
            &k.signing,
        ),
        (
            "a verify-only key under an unknown kid",
            header(alg, Some("no-such-kid")),
            &k.old_public,
        ),
        (
            "the signing key under a verify-only key's kid",
            header(alg, Some(k.old_public.kid())),
            &k.signing,
        ),
    ];
    for (what, header, key) in cases {
        let token = keyed.forge(&header, key.encoding_key());
        keyed.assert_refused(&token, what).await;
    }
    // The real token with its signature from another token of the same key.
    let other = keyed.forge(&header(alg, Some(real)), k.signing.encoding_key());
    let (head, _) = keyed.token.rsplit_once('.').unwrap();
    let (_, signature) = other.rsplit_once('.').unwrap();
    let mut claims = keyed.claims();
    claims["email"] = json!("someone-else@example.com");
    let spliced = format!(
        "{}.{}.{signature}",
        head.split('.').next().unwrap(),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    keyed
        .assert_refused(&spliced, "claims changed under a valid signature")
        .await;
}

async fn tokens_naming_another_algorithm_hs256_included_are_refused(alg: Algorithm) {
    let keyed = Keyed::spawn(alg).await;
    let k = keyed.keys;
    let real = k.signing.kid();
    let public_pem = k.signing.verifying_key().to_public_pem().unwrap();
    let jwk = k.signing.verifying_key().to_jwk();
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("the public key PEM".into(), public_pem.clone().into_bytes()),
        ("the public key JWK".into(), jwk.to_string().into_bytes()),
        (
            "the server's JWT_SECRET".into(),
            TEST_JWT_SECRET.as_bytes().to_vec(),
        ),
    ];
    for member in ["x", "n"] {
        if let Some(value) = jwk[member].as_str() {
            secrets.push((
                format!("the JWK {member}"),
                URL_SAFE_NO_PAD.decode(value).unwrap(),
            ));
        }
    }
    for (what, secret) in &secrets {
        for hmac in [Algorithm::HS256, Algorithm::HS512] {
            for kid in [Some(real), None] {
                let token = keyed.forge(&header(hmac, kid), &EncodingKey::from_secret(secret));
                keyed
                    .assert_refused(&token, &format!("{hmac:?} keyed with {what}, kid {kid:?}"))
                    .await;
            }
        }
    }
    // Another asymmetric algorithm under the real kid, signed by a key of that algorithm.
    let others: HashMap<Algorithm, &SigningKey> = [Algorithm::EdDSA, Algorithm::ES256]
        .into_iter()
        .filter(|other| *other != alg)
        .map(|other| (other, &keys(other).foreign))
        .collect();
    for (other, key) in others {
        let token = keyed.forge(&header(other, Some(real)), key.encoding_key());
        keyed
            .assert_refused(&token, &format!("{other:?} under the {alg:?} kid"))
            .await;
    }
    // alg none under the real kid.
    let claims = URL_SAFE_NO_PAD.encode(keyed.claims().to_string());
    let none =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": real}).to_string());
    keyed
        .assert_refused(&format!("{none}.{claims}."), "alg none")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_hs256_by_default_the_jwks_is_empty_and_tokens_have_no_kid() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let response = Captured::from(
        app.client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json(), json!({"keys": []}));
    assert!(
        response
            .header("cache-control")
            .is_some_and(|c| c.starts_with("public, max-age="))
    );
    let token = app.token_for(EMAIL, PASSWORD).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid, None);
    assert_eq!(app.profile_with_bearer(&token).await.status(), 200);
}

/// Contract v2's session rules do not depend on the key: refresh keeps the `sid` and the
/// `kid`, logout revokes, reuse after the grace revokes the session, deletion ends it all.
async fn the_session_rules_hold_with_asymmetric_keys(alg: Algorithm) {
    let keyed = Keyed::spawn(alg).await;
    let app = &keyed.app;
    let login = app.login_pair(EMAIL, PASSWORD).await;
    let token = login["token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, alg);
    let refreshed = app.refresh(login["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    let new_token = refreshed["token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(new_token).unwrap().kid,
        header.kid
    );
    let sid = |t: &str| passport_e2e::claims_of(t)["sid"].clone();
    assert_eq!(sid(new_token), sid(token));
    assert_eq!(keyed.profile(new_token).await.status, 200);

    assert_eq!(app.logout(new_token, None).await.status, 204);
    keyed
        .assert_refused(token, "a logged-out session's first token")
        .await;
    keyed
        .assert_refused(new_token, "a logged-out session's refreshed token")
        .await;
    app.refresh(refreshed["refresh_token"].as_str().unwrap())
        .await
        .assert_error(400, "invalid_grant");

    // The earlier login of Keyed::spawn is still live, and deletion ends it.
    assert_eq!(keyed.profile(&keyed.token).await.status, 200);
    let deleted = app
        .client
        .delete(app.url("/user"))
        .bearer_auth(&keyed.token)
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    keyed
        .assert_refused(&keyed.token, "a deleted user's token")
        .await;
}
