//! SIGINT (Ctrl-C) stops the server as gracefully as SIGTERM: a request in flight finishes.
//! A binary of its own, since the signal goes to the whole test process.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::Duration;

use passport_e2e::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn a_request_in_flight_finishes_after(signal: &str) {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = br#"{"email":"inflight@example.com","password":"correct horse battery"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let head = format!(
        "POST /signup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    // The request is in the handler, waiting for the rest of its body.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = std::process::Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("the in-flight request must be answered")
    .unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "after {signal}, the request in flight finishes: {response:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_and_sigterm_let_requests_in_flight_finish() {
    a_request_in_flight_finishes_after("-INT").await;
    a_request_in_flight_finishes_after("-TERM").await;
}
