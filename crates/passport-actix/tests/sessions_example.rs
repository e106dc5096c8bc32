//! End to end: runs the `sessions` example's binary on a free port and drives it over real
//! TCP — signup, login, a guarded and an optional route, refresh, the API-key route, and a
//! logout after which the session's access tokens are refused.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The example's process, killed when dropped.
struct Example(Child);

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example (built by `cargo test` beside this test's binary) on port 0 and returns
/// it with its address and API key, read from what it prints.
fn start() -> (Example, String, String) {
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let binary = examples.join(format!("sessions{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run through `cargo test --features sqlite`, which builds the examples",
        binary.display()
    );
    let mut child = Command::new(binary)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let example = Example(child);
    let (mut addr, mut key) = (None, None);
    while addr.is_none() || key.is_none() {
        let line = lines
            .next()
            .expect("the example printed its address and key")
            .unwrap();
        if let Some(rest) = line.strip_prefix("listening on http://") {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some((_, rest)) = line.split_once("x-api-key: ") {
            key = Some(rest.trim_end_matches('\'').to_owned());
        }
    }
    (example, addr.unwrap(), key.unwrap())
}

/// One HTTP/1.1 request (`Connection: close`); the status and the body.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("content-type: application/x-www-form-urlencoded\r\n");
    }
    request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[actix_web::test]
async fn the_sessions_example_signs_up_logs_in_refreshes_and_revokes_on_logout() {
    let (_example, addr, key) = start();
    let form = "email=ada%40example.com&password=correct+horse+battery";
    let (status, body) = http(&addr, "POST", "/signup", &[], form).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(json(&body)["email"], "ada@example.com");
    assert!(!body.contains("$2"), "no hash in the response");

    let (status, body) = http(&addr, "POST", "/login", &[], form).await;
    assert_eq!(status, 200, "{body}");
    let login = json(&body);
    assert_eq!(
        (login["token_type"].as_str(), login["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    let token = login["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");

    let (status, _) = http(&addr, "GET", "/notes", &[], "").await;
    assert_eq!(status, 401, "guarded");
    let (status, body) = http(&addr, "GET", "/notes", &[("authorization", &bearer)], "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["owner"]["email"], "ada@example.com");

    let (_, body) = http(&addr, "GET", "/hello", &[], "").await;
    assert_eq!(json(&body)["hello"], "stranger");
    let (_, body) = http(&addr, "GET", "/hello", &[("authorization", &bearer)], "").await;
    assert_eq!(json(&body)["hello"], "ada@example.com");

    let (status, body) = http(&addr, "POST", "/token/refresh", &[], "scope=all").await;
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = http(&addr, "POST", "/token/refresh", &[], "refresh_token=forged").await;
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let refresh = format!("refresh_token={}", login["refresh_token"].as_str().unwrap());
    let (status, body) = http(&addr, "POST", "/token/refresh", &[], &refresh).await;
    assert_eq!(status, 200, "{body}");
    let refreshed = json(&body);
    assert_ne!(refreshed["token"], login["token"], "a new access token");
    assert_ne!(refreshed["refresh_token"], login["refresh_token"]);
    let new_bearer = format!("Bearer {}", refreshed["token"].as_str().unwrap());
    let (status, _) = http(
        &addr,
        "GET",
        "/notes",
        &[("authorization", &new_bearer)],
        "",
    )
    .await;
    assert_eq!(status, 200, "the refreshed token opens the guarded route");

    let (status, _) = http(&addr, "GET", "/stats", &[("x-api-key", &key)], "").await;
    assert_eq!(status, 200);
    let (status, _) = http(&addr, "GET", "/stats", &[("x-api-key", "wrong")], "").await;
    assert_eq!(status, 401);

    let (status, _) = http(
        &addr,
        "POST",
        "/logout",
        &[("authorization", &new_bearer)],
        "",
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = http(&addr, "POST", "/logout", &[("authorization", &bearer)], "").await;
    assert_eq!(status, 401, "the session is already over");
    // Revoked: both access tokens of the session are refused at once, and its refresh token.
    for bearer in [&bearer, &new_bearer] {
        let (status, _) = http(&addr, "GET", "/notes", &[("authorization", bearer)], "").await;
        assert_eq!(status, 401, "a token of a logged-out session");
    }
    let refresh = format!(
        "refresh_token={}",
        refreshed["refresh_token"].as_str().unwrap()
    );
    let (status, body) = http(&addr, "POST", "/token/refresh", &[], &refresh).await;
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
