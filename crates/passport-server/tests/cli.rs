//! `passport-server keygen`: the real binary writes keys the server can load.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

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
