//! The JWT strategy and verifier against valid, missing, duplicated and hostile tokens.
//!
//! Hostile tokens are crafted by hand: base64url (no padding) segments signed with
//! `jsonwebtoken::crypto::sign`, so that every header and claim can be set to anything.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{App, HttpResponse, test, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use passport_actix::jwt::{
    Algorithm, Audience, Claims, ExtractJwt, JwtConfig, JwtStrategy, JwtVerifier, TokenError,
};
use passport_actix::{Authenticated, ErrorBody, Passport, StoreError};
use serde_json::{Value, json};

const SECRET: &[u8] = b"a test secret that is at least thirty-two bytes long";
const OTHER_SECRET: &[u8] = b"another secret, also at least thirty-two bytes long";
const ISSUER: &str = "passport-tests";
const AUDIENCE: &str = "passport-api";
const REALM: &str = "tests";

fn config() -> JwtConfig {
    JwtConfig::hmac(SECRET, ISSUER, AUDIENCE).unwrap()
}

fn verifier() -> JwtVerifier {
    config().verifier()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS with exactly this header and payload, signed with `secret` using `alg`.
fn sign_raw(header: &Value, payload: &Value, secret: &[u8], alg: Algorithm) -> String {
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret), alg)
            .unwrap();
    format!("{message}.{signature}")
}

/// Claims that the test verifier accepts.
fn good_claims() -> Value {
    let now = now();
    json!({ "sub": "ada", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600 })
}

/// `good_claims` with `key` replaced (or removed when `value` is `Value::Null`).
fn claims_with(key: &str, value: Value) -> Value {
    let mut claims = good_claims();
    let object = claims.as_object_mut().unwrap();
    if value.is_null() {
        object.remove(key);
    } else {
        object.insert(key.to_owned(), value);
    }
    claims
}

fn hs256_header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

/// A correctly signed HS256 token with these claims.
fn token_with(claims: &Value) -> String {
    sign_raw(&hs256_header(), claims, SECRET, Algorithm::HS256)
}

fn good_token() -> String {
    token_with(&good_claims())
}

/// A `/user/me` route guarded by a JWT strategy over `verifier`, asked with `req`.
async fn get_with(verifier: JwtVerifier, req: test::TestRequest) -> Reply {
    let mut passport = Passport::<String>::new();
    passport.register(
        "jwt",
        JwtStrategy::new(
            verifier,
            ExtractJwt::from_extractors([
                ExtractJwt::from_auth_header_as_bearer_token(),
                ExtractJwt::from_url_query_parameter("secret_token"),
            ]),
            |claims: Claims<Value>| async move {
                match claims.sub.as_str() {
                    "ghost" => Ok(None),
                    "db-down" => Err(StoreError::unavailable(std::io::Error::other(
                        "pool timeout",
                    ))),
                    _ => Ok(Some(claims.sub)),
                }
            },
        )
        .realm(REALM),
    );
    let guard = passport.authenticate("jwt").unwrap();
    let app = test::init_service(App::new().service(web::scope("/user").wrap(guard).route(
        "/me",
        web::get().to(|user: Authenticated<String>| async move {
            HttpResponse::Ok().json(json!({
                "user": user.user(),
                "strategy": user.info().strategy(),
                "raw_token": user.info().raw_token(),
            }))
        }),
    )))
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    let challenges = res
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        challenges,
    }
}

/// What a request to `/user/me` got back.
struct Reply {
    status: StatusCode,
    body: Value,
    challenges: Vec<String>,
}

async fn get(req: test::TestRequest) -> Reply {
    get_with(verifier(), req).await
}

fn bearer(token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri("/user/me")
        .insert_header(("authorization", format!("Bearer {token}")))
}

/// Asserts a `401` with this JSON error code and an RFC 6750 `invalid_token` challenge.
fn assert_invalid_token(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.body["error"], code, "{}", reply.body);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(reply.challenges.len(), 1, "{:?}", reply.challenges);
    let challenge = &reply.challenges[0];
    assert!(
        challenge.starts_with(&format!("Bearer realm=\"{REALM}\"")),
        "{challenge}"
    );
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

/// Sends `token` as a bearer token and asserts it is refused with `code`.
async fn assert_refused(token: &str, code: &str) {
    let reply = get(bearer(token)).await;
    assert_invalid_token(&reply, code);
}

// ---------------------------------------------------------------------------------------------
// Accepted tokens
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_valid_token_in_the_query_string_is_accepted() {
    let token = config().issuer().issue("ada", ()).unwrap().token;
    let reply = get(test::TestRequest::get().uri(&format!("/user/me?secret_token={token}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["user"], "ada");
    assert_eq!(reply.body["strategy"], "jwt");
    assert_eq!(reply.body["raw_token"], token.as_str());
}

#[actix_web::test]
async fn a_valid_bearer_token_is_accepted_whatever_the_case_of_the_scheme() {
    let token = config().issuer().issue("ada", ()).unwrap().token;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let req = test::TestRequest::get()
            .uri("/user/me")
            .insert_header(("authorization", format!("{scheme} {token}")));
        let reply = get(req).await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}: {}", reply.body);
        assert_eq!(reply.body["user"], "ada");
    }
}

#[actix_web::test]
async fn the_verifier_returns_the_claims_of_an_issued_token() {
    let config = config().ttl(Duration::from_secs(900));
    let issued = config
        .issuer()
        .issue("user-7", json!({ "role": "admin" }))
        .unwrap();
    assert_eq!(issued.token_type, "Bearer");
    assert_eq!(issued.expires_in, 900);
    let claims = config.verifier().verify::<Value>(&issued.token).unwrap();
    assert_eq!(claims.sub, "user-7");
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, Audience::One(AUDIENCE.to_owned()));
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.custom["role"], "admin");
}

#[actix_web::test]
async fn a_token_expired_within_the_leeway_is_still_accepted() {
    let token = token_with(&claims_with("exp", json!(now() - 5)));
    assert_eq!(verifier().verify::<Value>(&token).unwrap().sub, "ada");
}

#[actix_web::test]
async fn an_audience_list_that_contains_ours_is_accepted() {
    let token = token_with(&claims_with("aud", json!(["someone-else", AUDIENCE])));
    let claims = verifier().verify::<Value>(&token).unwrap();
    assert_eq!(
        claims.aud,
        Audience::Many(vec!["someone-else".into(), AUDIENCE.into()])
    );
}

// ---------------------------------------------------------------------------------------------
// Missing and duplicated tokens
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_request_without_a_token_gets_401_and_a_bearer_challenge_without_an_error() {
    let reply = get(test::TestRequest::get().uri("/user/me")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"], "token_missing");
    assert_eq!(reply.challenges, vec![format!("Bearer realm=\"{REALM}\"")]);
    assert!(!reply.challenges[0].contains("error="));
}

#[actix_web::test]
async fn another_authorization_scheme_counts_as_no_token() {
    let req = test::TestRequest::get()
        .uri("/user/me")
        .insert_header(("authorization", "Basic YWRhOmxvdmVsYWNl"));
    let reply = get(req).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"], "token_missing");
}

#[actix_web::test]
async fn a_token_in_both_the_header_and_the_query_is_an_invalid_request() {
    let token = good_token();
    let req = test::TestRequest::get()
        .uri(&format!("/user/me?secret_token={token}"))
        .insert_header(("authorization", format!("Bearer {token}")));
    let reply = get(req).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(reply.body["error"], "invalid_request");
    assert_eq!(reply.challenges.len(), 1);
    assert!(
        reply.challenges[0].contains("error=\"invalid_request\""),
        "{:?}",
        reply.challenges
    );
}

#[actix_web::test]
async fn the_same_query_parameter_twice_is_an_invalid_request() {
    let token = good_token();
    let req = test::TestRequest::get().uri(&format!(
        "/user/me?secret_token={token}&secret_token={token}"
    ));
    let reply = get(req).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error"], "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// Time claims
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_token_expired_beyond_the_leeway_is_refused_as_expired() {
    let token = token_with(&claims_with("exp", json!(now() - 120)));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::Expired
    );
    assert_refused(&token, "token_expired").await;
}

#[actix_web::test]
async fn a_token_whose_nbf_is_in_the_future_is_not_yet_valid() {
    let token = token_with(&claims_with("nbf", json!(now() + 300)));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::NotYetValid
    );
    assert_refused(&token, "token_not_yet_valid").await;
}

#[actix_web::test]
async fn a_token_issued_in_the_future_is_not_yet_valid() {
    let token = token_with(&claims_with("iat", json!(now() + 300)));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::IssuedInFuture
    );
    assert_refused(&token, "token_not_yet_valid").await;
}

#[actix_web::test]
async fn a_token_without_exp_is_refused() {
    let token = token_with(&claims_with("exp", Value::Null));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::MissingClaim("exp".into())
    );
    assert_refused(&token, "token_claim_missing").await;
}

#[actix_web::test]
async fn a_token_without_sub_iss_or_aud_is_refused() {
    for claim in ["sub", "iss", "aud"] {
        let token = token_with(&claims_with(claim, Value::Null));
        assert_eq!(
            verifier().verify::<Value>(&token).unwrap_err(),
            TokenError::MissingClaim(claim.into()),
            "{claim}"
        );
    }
}

#[actix_web::test]
async fn required_claims_of_the_wrong_type_are_malformed_not_missing() {
    for (claim, value) in [
        ("exp", json!((now() + 600).to_string())),
        ("sub", json!(42)),
        ("iss", json!({ "name": ISSUER })),
        ("aud", json!(7)),
    ] {
        let token = token_with(&claims_with(claim, value));
        assert_eq!(
            verifier().verify::<Value>(&token).unwrap_err(),
            TokenError::Malformed,
            "{claim}"
        );
    }
    let token = token_with(&claims_with("exp", json!((now() + 600).to_string())));
    assert_refused(&token, "token_malformed").await;
}

#[actix_web::test]
async fn a_token_without_iat_lacks_a_required_claim() {
    let token = token_with(&claims_with("iat", Value::Null));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::MissingClaim("iat".to_owned())
    );
    let token = token_with(&claims_with("iat", json!("yesterday")));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::Malformed
    );
}

// ---------------------------------------------------------------------------------------------
// Issuer and audience
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_token_from_another_issuer_is_refused() {
    let token = token_with(&claims_with("iss", json!("evil-issuer")));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::WrongIssuer
    );
    assert_refused(&token, "token_issuer_invalid").await;
}

#[actix_web::test]
async fn a_token_for_another_audience_is_refused() {
    let token = token_with(&claims_with("aud", json!("another-api")));
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::WrongAudience
    );
    assert_refused(&token, "token_audience_invalid").await;
}

#[actix_web::test]
async fn a_token_from_an_issuer_configured_differently_is_refused() {
    let theirs = JwtConfig::hmac(SECRET, "other-issuer", AUDIENCE).unwrap();
    let token = theirs.issuer().issue("ada", ()).unwrap().token;
    assert_refused(&token, "token_issuer_invalid").await;
}

// ---------------------------------------------------------------------------------------------
// Algorithms and signatures
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn alg_none_is_refused_in_every_letter_case() {
    let payload = b64(good_claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({ "alg": alg, "typ": "JWT" }).to_string().as_bytes());
        // Unsigned, as RFC 7519 §6.1 writes it, and with a (meaningless) HS256 signature.
        let unsigned = format!("{header}.{payload}.");
        let signature = jsonwebtoken::crypto::sign(
            format!("{header}.{payload}").as_bytes(),
            &EncodingKey::from_secret(SECRET),
            Algorithm::HS256,
        )
        .unwrap();
        let signed = format!("{header}.{payload}.{signature}");
        for token in [unsigned, signed] {
            assert_eq!(
                verifier().verify::<Value>(&token).unwrap_err(),
                TokenError::AlgorithmNotAllowed,
                "alg {alg}"
            );
            assert_refused(&token, "token_algorithm_invalid").await;
        }
    }
}

#[actix_web::test]
async fn hs384_and_hs512_tokens_are_refused_when_only_hs256_is_allowed() {
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = jsonwebtoken::encode(
            &Header::new(alg),
            &good_claims(),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(
            verifier().verify::<Value>(&token).unwrap_err(),
            TokenError::AlgorithmNotAllowed,
            "{alg:?}"
        );
        assert_refused(&token, "token_algorithm_invalid").await;
    }
}

#[actix_web::test]
async fn an_asymmetric_algorithm_name_is_refused_without_trying_the_hmac_key() {
    // The classic RS256/HS256 confusion: the header asks for RS256 but the "signature" is an
    // HMAC made with the shared secret.
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    let token = sign_raw(&header, &good_claims(), SECRET, Algorithm::HS256);
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::AlgorithmNotAllowed
    );
    assert_refused(&token, "token_algorithm_invalid").await;
}

#[actix_web::test]
async fn a_verifier_configured_for_hs512_accepts_only_hs512() {
    let secret = [7u8; 64];
    let config = JwtConfig::hmac(secret, ISSUER, AUDIENCE)
        .unwrap()
        .algorithm(Algorithm::HS512)
        .unwrap();
    let token = config.issuer().issue("ada", ()).unwrap().token;
    assert_eq!(
        config.verifier().verify::<Value>(&token).unwrap().sub,
        "ada"
    );
    let hs256 = sign_raw(&hs256_header(), &good_claims(), &secret, Algorithm::HS256);
    assert_eq!(
        config.verifier().verify::<Value>(&hs256).unwrap_err(),
        TokenError::AlgorithmNotAllowed
    );
}

#[actix_web::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let token = sign_raw(
        &hs256_header(),
        &good_claims(),
        OTHER_SECRET,
        Algorithm::HS256,
    );
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::InvalidSignature
    );
    assert_refused(&token, "token_signature_invalid").await;
}

#[actix_web::test]
async fn a_tampered_payload_is_refused() {
    let token = good_token();
    let (header, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let forged = b64(claims_with("sub", json!("admin")).to_string().as_bytes());
    let tampered = format!("{header}.{forged}.{signature}");
    assert_eq!(
        verifier().verify::<Value>(&tampered).unwrap_err(),
        TokenError::InvalidSignature
    );
    assert_refused(&tampered, "token_signature_invalid").await;
}

#[actix_web::test]
async fn a_stripped_signature_is_refused() {
    let token = good_token();
    let stripped = &token[..=token.rfind('.').unwrap()];
    assert!(stripped.ends_with('.'));
    assert_eq!(
        verifier().verify::<Value>(stripped).unwrap_err(),
        TokenError::InvalidSignature
    );
    assert_refused(stripped, "token_signature_invalid").await;
}

// ---------------------------------------------------------------------------------------------
// Header fields and shape
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_crit_header_is_refused_even_when_correctly_signed() {
    let header = json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"] });
    let token = sign_raw(&header, &good_claims(), SECRET, Algorithm::HS256);
    assert_eq!(
        verifier().verify::<Value>(&token).unwrap_err(),
        TokenError::UnsupportedHeader("crit")
    );
    assert_refused(&token, "token_malformed").await;
}

#[actix_web::test]
async fn key_selecting_headers_are_refused_even_when_correctly_signed() {
    for (field, value) in [
        ("kid", json!("key-1")),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
    ] {
        let mut header = hs256_header();
        header
            .as_object_mut()
            .unwrap()
            .insert(field.to_owned(), value);
        let token = sign_raw(&header, &good_claims(), SECRET, Algorithm::HS256);
        assert_eq!(
            verifier().verify::<Value>(&token).unwrap_err(),
            TokenError::UnsupportedHeader(match field {
                "kid" => "kid",
                "jku" => "jku",
                _ => "x5u",
            }),
            "{field}"
        );
        let reply = get(bearer(&token)).await;
        assert_invalid_token(&reply, "token_malformed");
        assert!(
            reply.challenges[0].contains(field),
            "{:?}",
            reply.challenges
        );
    }
}

#[actix_web::test]
async fn a_token_larger_than_the_bound_is_refused_before_parsing() {
    let small = config().max_token_bytes(512).verifier();
    let padding = "x".repeat(600);
    let token = token_with(&claims_with("padding", json!(padding)));
    assert!(token.len() > 512);
    assert_eq!(
        small.verify::<Value>(&token).unwrap_err(),
        TokenError::TooLarge(512)
    );
    // The same bound holds for garbage that is not a token at all.
    assert_eq!(
        small.verify::<Value>(&"a".repeat(513)).unwrap_err(),
        TokenError::TooLarge(512)
    );
    // The default bound (8 KiB) accepts the same token.
    assert_eq!(verifier().verify::<Value>(&token).unwrap().sub, "ada");

    let reply = get_with(small, bearer(&token)).await;
    assert_invalid_token(&reply, "token_malformed");
}

#[actix_web::test]
async fn tokens_with_one_two_or_four_segments_are_malformed() {
    let token = good_token();
    let parts: Vec<&str> = token.split('.').collect();
    let one = parts[0].to_owned();
    let two = format!("{}.{}", parts[0], parts[1]);
    let four = format!("{token}.{}", parts[2]);
    for candidate in [one, two, four] {
        assert_eq!(
            verifier().verify::<Value>(&candidate).unwrap_err(),
            TokenError::Malformed
        );
        assert_refused(&candidate, "token_malformed").await;
    }
}

#[actix_web::test]
async fn garbage_segments_are_malformed() {
    for token in ["a.b.c", "!!!.???.***", "eyJ.eyJ.sig", ".."] {
        let err = verifier().verify::<Value>(token).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed | TokenError::InvalidSignature),
            "{token}: {err:?}"
        );
        assert!(get(bearer(token)).await.status == StatusCode::UNAUTHORIZED);
    }
}

// ---------------------------------------------------------------------------------------------
// The verify callback
// ---------------------------------------------------------------------------------------------

#[actix_web::test]
async fn a_valid_token_whose_subject_is_unknown_is_refused() {
    let token = token_with(&claims_with("sub", json!("ghost")));
    assert_refused(&token, "token_subject_unknown").await;
}

#[actix_web::test]
async fn a_verify_callback_whose_store_is_down_answers_503() {
    let token = token_with(&claims_with("sub", json!("db-down")));
    let reply = get(bearer(&token)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        serde_json::from_value::<ErrorBody>(reply.body)
            .unwrap()
            .error,
        "service_unavailable"
    );
    assert!(reply.challenges.is_empty());
}

#[actix_web::test]
async fn the_realm_cannot_inject_quotes_into_the_challenge() {
    let mut passport = Passport::<String>::new();
    passport.register(
        "jwt",
        JwtStrategy::new(
            verifier(),
            ExtractJwt::from_auth_header_as_bearer_token(),
            |claims: Claims<()>| async move { Ok(Some(claims.sub)) },
        )
        .realm("api\", error=\"x\\"),
    );
    let app = test::init_service(
        App::new().service(
            web::scope("")
                .wrap(passport.authenticate("jwt").unwrap())
                .route("/", web::get().to(HttpResponse::Ok)),
        ),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers().get(WWW_AUTHENTICATE).unwrap(),
        "Bearer realm=\"api, error=x\""
    );
}
