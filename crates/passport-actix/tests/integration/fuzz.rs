//! Property tests: the JWT verifier and the credential parser never panic, and never accept
//! what they must refuse.

use std::sync::{Arc, OnceLock};

use actix_web::http::header::HeaderValue;
use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use bytes::Bytes;
use passport_actix::jwt::{JwtConfig, JwtVerifier};
use passport_actix::local::{
    Bcrypt, Created, Credentials, FieldNames, LocalStrategy, Mode, PasswordHash, PasswordHasher,
    StoredCredentials, UserStore,
};
use passport_actix::{AuthRequest, Authenticate, Outcome, StoreError};
use proptest::prelude::*;
use serde_json::Value;

const SECRET: &[u8] = b"a property-test secret of at least thirty-two bytes";

fn config() -> JwtConfig {
    JwtConfig::hmac(SECRET, "fuzz-issuer", "fuzz-api").unwrap()
}

fn verifier() -> &'static JwtVerifier {
    static VERIFIER: OnceLock<JwtVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| config().verifier())
}

/// One valid token, issued once (so every case mutates the same bytes).
fn valid_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        config()
            .issuer()
            .issue("user-42", serde_json::json!({ "role": "reader" }))
            .unwrap()
            .token
    })
}

/// base64url that, unlike the strict engine, ignores the unused low bits of the last character
/// and accepts padding: two encodings it decodes to the same bytes carry the same signature.
fn lenient_decode(segment: &str) -> Option<Vec<u8>> {
    let engine = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine.decode(segment).ok()
}

/// Whether `mutated` is the original token up to a re-encoding of its signature that decodes
/// to the same bytes (the only change that could legitimately still verify).
fn is_noop_mutation(original: &str, mutated: &str) -> bool {
    let (Some((o_msg, o_sig)), Some((m_msg, m_sig))) =
        (original.rsplit_once('.'), mutated.rsplit_once('.'))
    else {
        return false;
    };
    o_msg == m_msg
        && lenient_decode(o_sig).is_some()
        && lenient_decode(o_sig) == lenient_decode(m_sig)
}

#[test]
fn the_token_that_is_mutated_is_valid_to_begin_with() {
    assert_eq!(
        verifier().verify::<Value>(valid_token()).unwrap().sub,
        "user-42"
    );
    assert!(is_noop_mutation(valid_token(), valid_token()));
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Append(String),
    SwapSegments,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![
        // Mostly characters a token may hold, sometimes anything.
        4 => proptest::sample::select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".to_vec()),
        1 => any::<u8>(),
    ];
    prop_oneof![
        4 => (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        2 => (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => "[A-Za-z0-9_.=-]{1,8}".prop_map(Mutation::Append),
        1 => Just(Mutation::SwapSegments),
    ]
}

fn apply(token: &str, mutation: &Mutation) -> Vec<u8> {
    let mut bytes = token.as_bytes().to_vec();
    let len = bytes.len();
    match mutation {
        Mutation::Replace(i, b) => bytes[i % len] = *b,
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), *b),
        Mutation::Delete(i) => {
            bytes.remove(i % len);
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
        Mutation::Append(tail) => bytes.extend_from_slice(tail.as_bytes()),
        Mutation::SwapSegments => {
            let parts: Vec<&str> = token.split('.').collect();
            bytes = format!("{}.{}.{}", parts[1], parts[0], parts[2]).into_bytes();
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_are_never_accepted_and_never_panic(input in any::<String>()) {
        prop_assert!(verifier().verify::<Value>(&input).is_err());
    }

    #[test]
    fn token_shaped_garbage_is_never_accepted(
        header in "[A-Za-z0-9_-]{0,60}",
        payload in "[A-Za-z0-9_-]{0,120}",
        signature in "[A-Za-z0-9_-]{0,60}",
    ) {
        let token = format!("{header}.{payload}.{signature}");
        prop_assert!(verifier().verify::<Value>(&token).is_err());
    }

    #[test]
    fn a_mutated_token_is_refused_unless_the_mutation_is_a_no_op(mutation in mutation()) {
        let original = valid_token();
        let mutated = apply(original, &mutation);
        // The verifier takes text; bytes that are not UTF-8 cannot even reach it.
        let Ok(mutated) = String::from_utf8(mutated) else { return Ok(()) };
        let result = verifier().verify::<Value>(&mutated);
        if mutated == original || is_noop_mutation(original, &mutated) {
            // Same bytes, or a signature re-encoded to the same value: either answer is fine.
            return Ok(());
        }
        prop_assert!(result.is_err(), "accepted a mutated token ({mutation:?}): {mutated}");
    }

    #[test]
    fn correctly_signed_tokens_with_arbitrary_headers_and_claims_never_panic(
        alg in prop_oneof![Just("HS256".to_owned()), "[A-Za-z0-9]{0,8}"],
        claims in proptest::collection::btree_map("[a-z]{1,4}", any_json(), 0..8),
    ) {
        let header = serde_json::json!({ "alg": alg, "typ": "JWT" });
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims).unwrap()),
        );
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(SECRET),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        let token = format!("{message}.{signature}");
        // Without sub, iss, aud and exp of the right values, it can never be accepted.
        prop_assert!(verifier().verify::<Value>(&token).is_err());
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

// ---------------------------------------------------------------------------------------------
// Credential parsing and the local strategy
// ---------------------------------------------------------------------------------------------

/// A store with no users that never fails, so every outcome is about the request.
struct NoUsers;
impl UserStore for NoUsers {
    type User = String;

    async fn find_for_login(
        &self,
        _: &str,
    ) -> Result<Option<StoredCredentials<String>>, StoreError> {
        Ok(None)
    }

    async fn create_user(
        &self,
        username: &str,
        _: &PasswordHash,
    ) -> Result<Created<String>, StoreError> {
        Ok(Created::User(username.to_owned()))
    }
}

fn hasher() -> Arc<dyn PasswordHasher> {
    static HASHER: OnceLock<Arc<Bcrypt>> = OnceLock::new();
    HASHER
        .get_or_init(|| Arc::new(Bcrypt::new(4).unwrap()))
        .clone()
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/json".to_owned()),
        Just("application/json; charset=utf-8".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8".to_owned()),
        Just(String::new()),
        "[ -~]{0,40}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        ".{0,120}".prop_map(String::into_bytes),
        ("[a-z@.%+=&]{0,40}", "[a-z@.%+=&]{0,40}")
            .prop_map(|(u, p)| format!("email={u}&password={p}").into_bytes()),
        (".{0,30}", ".{0,30}").prop_map(|(u, p)| {
            serde_json::json!({ "email": u, "password": p })
                .to_string()
                .into_bytes()
        }),
    ]
}

fn request(content_type: &str, body: Vec<u8>) -> Option<AuthRequest> {
    let value = HeaderValue::from_str(content_type).ok()?;
    let mut req = TestRequest::post();
    if !content_type.is_empty() {
        req = req.insert_header(("content-type", value));
    }
    Some(AuthRequest::with_body(
        req.to_http_request(),
        Bytes::from(body),
    ))
}

thread_local! {
    static RUNTIME: actix_rt::Runtime = actix_rt::Runtime::new().unwrap();
}

/// Runs `future` to completion on this thread's runtime (one per test thread, reused by cases).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn credential_parsing_never_panics_and_fails_only_with_4xx(
        content_type in content_type(),
        body in body(),
    ) {
        let Some(req) = request(&content_type, body) else { return Ok(()) };
        let result = block_on(Credentials::from_request(&req, &FieldNames::default()));
        match result {
            Ok(credentials) => {
                prop_assert!(!credentials.username.is_empty());
                prop_assert!(!credentials.password_bytes().is_empty());
            }
            Err(failure) => prop_assert!(failure.status().is_client_error(), "{failure:?}"),
        }
    }

    #[test]
    fn the_local_strategy_answers_every_body_with_a_4xx_failure_or_a_success(
        signup in any::<bool>(),
        content_type in content_type(),
        body in body(),
    ) {
        let Some(req) = request(&content_type, body) else { return Ok(()) };
        let mode = if signup { Mode::Signup } else { Mode::Login };
        let strategy = LocalStrategy::new(mode, Arc::new(NoUsers), hasher());
        let outcome = block_on(strategy.authenticate(&req));
        match outcome {
            Outcome::Fail(failure) => prop_assert!(failure.status().is_client_error(), "{failure:?}"),
            // Only signup can succeed against a store without users.
            Outcome::Success { .. } => prop_assert!(signup),
            other => prop_assert!(false, "unexpected outcome {other:?}"),
        }
    }
}
