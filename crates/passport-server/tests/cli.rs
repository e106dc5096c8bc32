//! The real binary: `passport-server keygen` writes keys the server can load; the server's
//! configuration errors and first log lines read well.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use passport_actix::jwt::{Algorithm, SigningKey};

fn keygen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passport-server"))
        .arg("keygen")
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("passport-keygen-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[test]
fn keygen_writes_a_private_pkcs8_key_for_each_algorithm_and_never_overwrites() {
    let dir = scratch();
    for (name, alg) in [
        ("EdDSA", Algorithm::EdDSA),
        ("ES256", Algorithm::ES256),
        ("RS256", Algorithm::RS256),
    ] {
        let path = dir.join(format!("{name}.pem"));
        let out = keygen(&["--alg", name, "--out", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{name}");
        let key = SigningKey::from_pkcs8_pem_for(alg, &pem).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key.kid()), "{stderr}");
        assert!(!stderr.contains(pem.lines().nth(1).unwrap()));

        let again = keygen(&["--alg", name, "--out", path.to_str().unwrap()]);
        assert_eq!(again.status.code(), Some(1), "an existing file is kept");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);
    }
    // An empty file, as mktemp leaves it, is filled and restricted to 0600.
    let empty = dir.join("mktemp");
    std::fs::write(&empty, "").unwrap();
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = keygen(&["--alg", "EdDSA", "--out", empty.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::metadata(&empty).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pem = std::fs::read_to_string(&empty).unwrap();
    assert!(SigningKey::from_pkcs8_pem_for(Algorithm::EdDSA, &pem).is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keygen_prints_to_stdout_without_out_and_refuses_bad_usage() {
    let out = keygen(&["--alg=ES256"]);
    assert!(out.status.success());
    let pem = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        SigningKey::from_pkcs8_pem(&pem).unwrap().algorithm(),
        Algorithm::ES256
    );
    for bad in [&[][..], &["--alg", "HS256"], &["--alg"], &["--bogus"]] {
        let out = keygen(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_server_exits_2_with_one_line_naming_the_key_variable() {
    let dir = scratch();
    let public = dir.join("public.pem");
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    std::fs::write(&public, key.verifying_key().to_public_pem().unwrap()).unwrap();
    let cases = [
        (vec![("JWT_ALGORITHM", "EdDSA")], "JWT_PRIVATE_KEY_FILE"),
        (
            vec![
                ("JWT_ALGORITHM", "EdDSA"),
                ("JWT_PRIVATE_KEY_FILE", public.to_str().unwrap()),
            ],
            "JWT_PRIVATE_KEY_FILE",
        ),
        (vec![("JWT_ALGORITHM", "HS512")], "JWT_ALGORITHM"),
    ];
    for (vars, name) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_passport-server"))
            .env_clear()
            .envs(vars.iter().copied())
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{vars:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<_> = stderr.lines().filter(|l| l.contains(name)).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The value of `name=` in a log line (up to the next space).
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    line[start..].split(' ').next()
}

#[test]
fn first_run_logs_name_the_sqlite_file_in_plain_text_with_whole_microseconds() {
    let dir = scratch();
    let mut server = Command::new(env!("CARGO_BIN_EXE_passport-server"))
        .env_clear()
        .envs([
            ("BIND_ADDR", "127.0.0.1:0"),
            ("DATABASE_URL", "sqlite://data/passport.db"),
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = BufReader::new(server.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    // A guard against a hang, not a timing assertion.
    let mut read_until = |needle: &str| loop {
        let line = received
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no line with {needle:?} in:\n{}", log.join("\n")));
        log.push(line.clone());
        if line.contains(needle) {
            break line;
        }
    };

    let listening = read_until("passport-server listening");
    let port: u16 = field(&listening, "port").unwrap().parse().unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    client.read_to_end(&mut Vec::new()).unwrap();
    let completed = read_until("request completed");
    server.kill().unwrap();
    server.wait().unwrap();

    let file = dir.canonicalize().unwrap().join("data").join("passport.db");
    assert!(
        listening.contains(file.to_str().unwrap()),
        "the data's absolute path: {listening}"
    );
    let elapsed = field(&completed, "elapsed_us").unwrap();
    assert!(
        elapsed.bytes().all(|b| b.is_ascii_digit()),
        "whole microseconds: {completed}"
    );
    let log = log.join("\n");
    assert!(!log.contains('\u{1b}'), "no colour codes in a pipe:\n{log}");
    assert!(
        !log.contains("starting service"),
        "actix-server is quiet:\n{log}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
