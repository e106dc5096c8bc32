//! `passport-server keygen --alg EdDSA|ES256|RS256 [--out FILE]`: a new signing key as an
//! unencrypted PKCS#8 PEM, so that operators need no openssl.

use std::io::Write;
use std::process::ExitCode;

use passport_actix::jwt::{Algorithm, SigningKey};

const USAGE: &str = "usage: passport-server keygen --alg EdDSA|ES256|RS256 [--out FILE]
  Writes a new private signing key (PKCS#8 PEM) to FILE (mode 0600; an existing non-empty
  file is never overwritten) or to standard output, and prints its kid (RFC 7638 thumbprint) on stderr.
  Use it as JWT_PRIVATE_KEY_FILE with the same JWT_ALGORITHM.";

/// Runs the subcommand with its arguments (after `keygen`). Exit code 2 for a usage error,
/// 1 when the key cannot be written.
pub fn run(args: &[String]) -> ExitCode {
    let (algorithm, out) = match parse(args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("passport-server keygen: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let key = match SigningKey::generate(algorithm) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("passport-server keygen: cannot generate a key: {error}");
            return ExitCode::from(1);
        }
    };
    let written = key
        .to_pkcs8_pem()
        .map_err(|e| e.to_string())
        .and_then(|pem| match &out {
            Some(path) => write_private(path, pem.as_bytes()),
            None => std::io::stdout()
                .write_all(pem.as_bytes())
                .map_err(|e| e.to_string()),
        });
    match written {
        Ok(()) => {
            let place = out.as_deref().unwrap_or("standard output");
            eprintln!(
                "wrote a new {algorithm:?} key to {place}; kid {}",
                key.kid()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("passport-server keygen: {error}");
            ExitCode::from(1)
        }
    }
}

/// `Ok(None)` asks for the usage text.
fn parse(args: &[String]) -> Result<Option<(Algorithm, Option<String>)>, String> {
    let mut algorithm = None;
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--alg" => {
                let name = value()?;
                algorithm = Some(match name.to_ascii_lowercase().as_str() {
                    "eddsa" | "ed25519" => Algorithm::EdDSA,
                    "es256" => Algorithm::ES256,
                    "rs256" => Algorithm::RS256,
                    _ => return Err(format!("unsupported --alg {name:?}")),
                });
            }
            "--out" => out = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let algorithm = algorithm.ok_or("--alg is required")?;
    Ok(Some((algorithm, out)))
}

/// Creates `path` with mode 0600 and writes `bytes`. An existing file is never replaced,
/// except an empty regular file (as `mktemp` leaves), which gets mode 0600 first.
fn write_private(path: &str, bytes: &[u8]) -> Result<(), String> {
    let empty_file = std::fs::symlink_metadata(path)
        .is_ok_and(|meta| meta.file_type().is_file() && meta.len() == 0);
    let mut options = std::fs::OpenOptions::new();
    if empty_file {
        options.write(true);
    } else {
        options.write(true).create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!("{path} exists; not overwriting it"),
        _ => format!("cannot create {path}: {e}"),
    })?;
    #[cfg(unix)]
    if empty_file {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot restrict {path} to mode 0600: {e}"))?;
        if file.metadata().map(|m| m.len()).unwrap_or(1) != 0 {
            return Err(format!("{path} is no longer empty; not overwriting it"));
        }
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {path}: {e}"))
}
