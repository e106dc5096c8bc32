//! Slow-body denial of service: a client that stalls or trickles its request body is cut at
//! the body deadline with a JSON `408` and its connection closed; one address cannot hold more
//! than its share of connections; many stalled clients from many addresses do not stop the
//! server from answering others.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use passport_e2e::{Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// `BODY_READ_TIMEOUT_SECONDS` of these tests.
const DEADLINE: Duration = Duration::from_secs(2);
/// How long after the deadline a stalled connection may still be open: generous, a bound on
/// behaviour ("cut at the deadline, not never"), not a benchmark.
const SLACK: Duration = Duration::from_secs(6);

async fn spawn(configure: impl FnOnce(&mut std::collections::HashMap<String, String>)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |env| {
        env.insert(
            "BODY_READ_TIMEOUT_SECONDS".into(),
            DEADLINE.as_secs().to_string(),
        );
        configure(env);
    })
    .await
}

/// A connection from the loopback address `127.0.0.<host>`.
async fn connect_from(host: u8, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)),
        0,
    ))?;
    socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
}

fn head(path: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{extra}\r\n"
    )
}

/// Reads until the server closes the connection (or `bound` passes); returns what was read
/// and whether the connection was closed.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> (String, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return (String::from_utf8_lossy(&buf).into_owned(), false),
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&buf).into_owned(), true),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn assert_json_408(response: &str) {
    assert!(
        response.starts_with("HTTP/1.1 408"),
        "expected a 408, got: {response:?}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response:?}"));
    assert_eq!(json["error"], "request_timeout", "{response}");
}

async fn assert_health(app: &TestApp) {
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.client.get(app.url("/health")).send(),
    )
    .await
    .expect("/health must answer while bodies stall")
    .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_cut_at_the_deadline_with_a_json_408() {
    let app = spawn(|_| {}).await;
    for path in ["/signup", "/login"] {
        let mut stream = connect_from(1, app.port).await.unwrap();
        stream
            .write_all(head(path, "Content-Length: 60\r\n").as_bytes())
            .await
            .unwrap();
        let start = Instant::now();
        let (response, closed) = read_until_closed(&mut stream, DEADLINE + SLACK).await;
        assert!(
            closed,
            "{path}: still open {:?} after the head",
            start.elapsed()
        );
        assert!(
            start.elapsed() >= DEADLINE - Duration::from_millis(200),
            "{path}: cut before the deadline"
        );
        assert_json_408(&response);
        assert_health(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_is_cut_at_the_deadline_even_though_bytes_keep_coming() {
    let app = spawn(|_| {}).await;
    for (path, framing) in [
        ("/signup", "Content-Length: 200\r\n"),
        ("/login", "Transfer-Encoding: chunked\r\n"),
    ] {
        let mut stream = connect_from(1, app.port).await.unwrap();
        stream
            .write_all(head(path, framing).as_bytes())
            .await
            .unwrap();
        let chunked = framing.contains("chunked");
        let start = Instant::now();
        // One byte every 300 ms: every single read is quick, only the total is slow.
        let (mut reader, mut writer) = stream.into_split();
        let trickle = tokio::spawn(async move {
            for _ in 0..200 {
                let piece: &[u8] = if chunked { b"1\r\n{\r\n" } else { b"{" };
                if writer.write_all(piece).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        let mut buf = Vec::new();
        let read = tokio::time::timeout(DEADLINE + SLACK, reader.read_to_end(&mut buf)).await;
        trickle.abort();
        assert!(
            read.is_ok(),
            "{path} ({framing:?}): still open {:?} after the head",
            start.elapsed()
        );
        assert_json_408(&String::from_utf8_lossy(&buf));
        assert_health(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_arrives_in_time_is_still_served() {
    let app = spawn(|_| {}).await;
    let body = br#"{"email":"slow@example.com","password":"correct horse battery"}"#;
    let mut stream = connect_from(1, app.port).await.unwrap();
    stream
        .write_all(
            head(
                "/signup",
                &format!("Content-Length: {}\r\nConnection: close\r\n", body.len()),
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Half the body, a pause well inside the deadline, the rest.
    stream.write_all(&body[..20]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.write_all(&body[20..]).await.unwrap();
    let (response, _) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_stalled_bodies_from_many_addresses_do_not_stop_the_server() {
    const ADDRESSES: u8 = 10;
    const PER_ADDRESS: usize = 30;
    const CAP: usize = 10;
    let app = spawn(|env| {
        env.insert("MAX_CONNECTIONS_PER_ADDRESS".into(), CAP.to_string());
    })
    .await;
    let mut stalled = Vec::new();
    for host in 2..2 + ADDRESSES {
        for _ in 0..PER_ADDRESS {
            let mut stream = connect_from(host, app.port).await.unwrap();
            stream
                .write_all(head("/signup", "Content-Length: 60\r\n").as_bytes())
                .await
                .unwrap();
            stalled.push((host, stream));
        }
    }
    let start = Instant::now();
    // While they stall, everyone else is served.
    assert_health(&app).await;
    let ok = app
        .signup("bystander@example.com", "correct horse battery")
        .await;
    assert_eq!(ok.status(), 201);

    let mut refused = 0;
    let mut timed_out = 0;
    let reads = stalled.into_iter().map(|(host, mut stream)| async move {
        let (response, closed) = read_until_closed(&mut stream, DEADLINE + SLACK).await;
        (host, response, closed)
    });
    for (host, response, closed) in futures_util::future::join_all(reads).await {
        assert!(
            closed,
            "a connection from 127.0.0.{host} is still open {:?} later: {response:?}",
            start.elapsed()
        );
        if response.starts_with("HTTP/1.1 429") {
            assert!(response.contains("too_many_connections"), "{response}");
            refused += 1;
        } else {
            assert_json_408(&response);
            timed_out += 1;
        }
    }
    let expected_refused = usize::from(ADDRESSES) * (PER_ADDRESS - CAP);
    assert_eq!(
        refused, expected_refused,
        "connections past the per-address cap are refused at once"
    );
    assert_eq!(timed_out, usize::from(ADDRESSES) * CAP);
    assert_health(&app).await;
}
