//! The `api_key` example's app, built with `test::init_service`: a JWT alone works, the API
//! key alone works, and neither gets one 401 with both challenges.

#[allow(dead_code)]
#[path = "../../examples/api_key.rs"]
mod api_key;

use actix_web::http::StatusCode;
use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::{App, test};
use api_key::{API_KEY_HEADER, Principal, configure, jwt_config, passport};
use passport_actix::constant_time_eq;
use serde_json::{Value, json};

const KEY: &str = "test-only api key, 0123456789abcdef";
const SECRET: &[u8] = b"test-only jwt secret of at least thirty-two bytes";

struct Reply {
    status: StatusCode,
    challenges: Vec<String>,
    body: Value,
}

async fn send(req: test::TestRequest) -> Reply {
    let jwt = jwt_config(SECRET).unwrap();
    let routes = configure(&passport(&jwt, KEY)).unwrap();
    let app = test::init_service(App::new().configure(routes)).await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    let challenges = res
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = serde_json::from_slice(&test::read_body(res).await).unwrap();
    Reply {
        status,
        challenges,
        body,
    }
}

fn me() -> test::TestRequest {
    test::TestRequest::get().uri("/user/me")
}

#[actix_web::test]
async fn a_jwt_alone_authenticates_the_user() {
    let token = jwt_config(SECRET)
        .unwrap()
        .issuer()
        .issue("ada", ())
        .unwrap()
        .token;
    let reply = send(me().insert_header(("authorization", format!("Bearer {token}")))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({ "principal": { "kind": "user", "id": "ada" }, "via": "jwt" })
    );
}

#[actix_web::test]
async fn the_api_key_alone_authenticates_the_service() {
    let reply = send(me().insert_header((API_KEY_HEADER, KEY))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({ "principal": { "kind": "service" }, "via": "api-key" })
    );
    assert_eq!(
        serde_json::to_value(Principal::Service).unwrap(),
        json!({ "kind": "service" })
    );
}

#[actix_web::test]
async fn neither_credential_gets_one_401_with_both_challenges() {
    let reply = send(me()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"], "token_missing");
    assert_eq!(reply.challenges.len(), 2, "{:?}", reply.challenges);
    assert!(
        reply.challenges[0].starts_with("Bearer realm="),
        "{:?}",
        reply.challenges
    );
    assert!(
        reply.challenges[1].starts_with("ApiKey realm="),
        "{:?}",
        reply.challenges
    );
}

#[actix_web::test]
async fn a_wrong_api_key_is_refused_with_an_error_in_its_challenge() {
    for wrong in ["nope", &KEY[..KEY.len() - 1], &format!("{KEY}x")] {
        let reply = send(me().insert_header((API_KEY_HEADER, wrong))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert_eq!(reply.challenges.len(), 2);
        assert!(
            reply.challenges[1].contains("error=\"invalid_key\""),
            "{:?}",
            reply.challenges
        );
        assert!(
            !reply.body.to_string().contains(KEY),
            "the key is never echoed"
        );
    }
}

#[actix_web::test]
async fn a_valid_jwt_wins_before_the_api_key_is_looked_at() {
    let token = jwt_config(SECRET)
        .unwrap()
        .issuer()
        .issue("ada", ())
        .unwrap()
        .token;
    let reply = send(
        me().insert_header(("authorization", format!("Bearer {token}")))
            .insert_header((API_KEY_HEADER, "wrong key")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["via"], "jwt");
}

#[actix_web::test]
async fn constant_time_eq_compares_whole_strings() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    assert!(constant_time_eq(b"", b""));
}
