//! The `resource_server` example (crates/passport-actix/examples) in front of the real auth
//! server: it knows only the JWKS URL, accepts the auth server's EdDSA tokens, refuses tampered
//! ones, and keeps working across a key rotation (the auth server restarted with a new signing
//! key and the old one verify-only) without a restart of its own.

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/passport-actix/examples/resource_server.rs"]
mod example;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use jsonwebtoken::Algorithm;
use passport_actix::jwt::{RemoteKeySet, SigningKey};
use passport_e2e::{
    Backend, Captured, TEST_AUDIENCE, TEST_ISSUER, TestApp, TestInstance, test_env,
};
use serde_json::Value;

use crate::keys::KeyFiles;

const EMAIL: &str = "resource@example.com";
const PASSWORD: &str = "correct horse battery";
const COOLDOWN: Duration = Duration::from_millis(500);

struct ResourceServer {
    url: String,
    handle: ServerHandle,
    client: reqwest::Client,
}

impl ResourceServer {
    fn start(jwks_url: &str) -> Self {
        let keys = RemoteKeySet::new(jwks_url)
            .unwrap()
            .unknown_kid_cooldown(COOLDOWN);
        let passport = example::passport(keys, TEST_ISSUER, TEST_AUDIENCE);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/whoami", listener.local_addr().unwrap());
        let server = example::server(listener, &passport).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url,
            handle,
            client: reqwest::Client::new(),
        }
    }

    async fn whoami(&self, token: &str) -> Captured {
        Captured::from(
            self.client
                .get(&self.url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }
}

impl Drop for ResourceServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn env_with_keys(
    db_url: &str,
    signing: &str,
    verify: Option<&str>,
) -> std::collections::HashMap<String, String> {
    let mut env = test_env(db_url);
    env.insert("JWT_ALGORITHM".into(), "EdDSA".into());
    env.insert("JWT_PRIVATE_KEY_FILE".into(), signing.into());
    if let Some(verify) = verify {
        env.insert("JWT_VERIFY_KEY_FILES".into(), verify.into());
    }
    env
}

async fn login(auth: &TestInstance) -> String {
    let body: Value = auth.login(EMAIL, PASSWORD).await.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_server_verifies_with_the_jwks_alone_and_follows_a_key_rotation() {
    let files = KeyFiles::new();
    let first = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let second = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let first_file = files.write("first.pem", &first.to_pkcs8_pem().unwrap());
    let second_file = files.write("second.pem", &second.to_pkcs8_pem().unwrap());
    let first_public = files.write(
        "first.pub.pem",
        &first.verifying_key().to_public_pem().unwrap(),
    );

    // Arrange: the auth server signs with the first key; the resource server knows its URL.
    let app = TestApp::spawn_with(Backend::Postgres, |env| {
        *env = env_with_keys(&env["DATABASE_URL"], &first_file, None);
    })
    .await;
    let jwks_url = app.url("/.well-known/jwks.json");
    let resource = ResourceServer::start(&jwks_url);
    let old_token = app.token_for(EMAIL, PASSWORD).await;
    assert_eq!(kid(&old_token), first.kid());

    // Accepted, with the caller taken from the token.
    let reply = resource.whoami(&old_token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["email"], EMAIL);

    // Tampered, missing, or signed by a key the issuer never published: refused.
    let (head, signature) = old_token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &signature[1..]);
    let foreign =
        example_token_signed_by(&SigningKey::generate(Algorithm::EdDSA).unwrap(), &old_token);
    for (what, token) in [
        ("tampered", tampered),
        ("foreign", foreign),
        ("garbage", "x.y.z".into()),
    ] {
        let reply = resource.whoami(&token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer"))
        );
        assert!(reply.json()["error"].is_string(), "{what}");
    }
    let no_token = resource.client.get(&resource.url).send().await.unwrap();
    assert_eq!(no_token.status(), 401);

    // Act: rotate. The auth server restarts on the same address with the second key signing
    // and the first one verify-only (given as a public key).
    let port = app.port;
    app.server.stop().await;
    let mut env = env_with_keys(&app.db.url, &second_file, Some(&first_public));
    env.insert("BIND_ADDR".into(), format!("127.0.0.1:{port}"));
    let rotated = TestInstance::start(env).await;
    assert_eq!(rotated.url("/.well-known/jwks.json"), jwks_url);
    let new_token = login(&rotated).await;
    assert_eq!(kid(&new_token), second.kid());

    // Assert: the resource server, never restarted, accepts the new key's tokens once its
    // unknown-kid cooldown allows a refetch, and still accepts the old key's tokens.
    tokio::time::sleep(COOLDOWN + Duration::from_millis(100)).await;
    let reply = resource.whoami(&new_token).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["email"], EMAIL);
    assert_eq!(resource.whoami(&old_token).await.status, 200);
    assert_eq!(rotated.profile_with_bearer(&old_token).await.status(), 200);
    assert_eq!(rotated.profile_with_bearer(&new_token).await.status(), 200);
}

/// The claims of `token` re-signed by `key` under the original header's kid.
fn example_token_signed_by(key: &SigningKey, token: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
    header.kid = Some(kid(token));
    jsonwebtoken::encode(&header, &claims, key.encoding_key()).unwrap()
}
