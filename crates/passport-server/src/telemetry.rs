//! Logging: a `tracing` subscriber, and a request span whose URL never shows a token.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// Query parameters whose values are replaced by `[redacted]` in logs.
const REDACTED_PARAMETERS: &[&str] = &["secret_token", "access_token", "token", "password"];

/// Log targets quieter than the rest unless `RUST_LOG` names them (the crate's name is
/// enough):
///
/// - actix-http logs every request its parser refuses (a bad character in the URL, a malformed
///   head: the client gets a bare `400`) as `ERROR stream error: …` — a client's mistake, not
///   the server's, and not worth paging anyone;
/// - actix-server announces each listener and its workers at `INFO` (twice with
///   `METRICS_ADDR`), repeating the server's own `passport-server listening` line;
/// - sqlx relays PostgreSQL's `NOTICE`s at `INFO` (the migrations' "already exists,
///   skipping"), which are no news to an operator.
const QUIET: &[(&str, &str)] = &[
    ("actix_http", "actix_http::h1::dispatcher=off"),
    ("actix_server", "actix_server=warn"),
    ("sqlx", "sqlx=warn"),
];

/// Installs the global subscriber: `RUST_LOG` filter (default `info`), JSON lines when
/// `LOG_FORMAT=json`; ANSI colours only when standard output is a terminal and `NO_COLOR` is
/// unset (a log file or a pipe gets plain text). Safe to call more than once (later calls do
/// nothing).
pub fn init() {
    use std::io::IsTerminal;
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_target(false);
    let _ = if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The log filter for a `RUST_LOG` value (unset: `info`), with each [`QUIET`] target quieter
/// unless the value mentions it.
fn filter(rust_log: Option<&str>) -> EnvFilter {
    let spec = rust_log.filter(|s| !s.trim().is_empty()).unwrap_or("info");
    let filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    QUIET
        .iter()
        .filter(|(target, _)| !spec.contains(target))
        .filter_map(|(_, directive)| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive)
}

/// The request target with every sensitive query value, and every path segment or query value
/// that looks like a JWT (`/user/profile/<token>`, `?t=<token>`), replaced by `[redacted]`.
///
/// ```
/// use passport_server::telemetry::redact_target;
/// assert_eq!(redact_target("/user/profile", "secret_token=eyJ.x.y&a=1"),
///            "/user/profile?secret_token=%5Bredacted%5D&a=1");
/// assert_eq!(redact_target("/user/profile/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", ""),
///            "/user/profile/[redacted]");
/// ```
pub fn redact_target(path: &str, query: &str) -> String {
    let path = if path.split('/').any(looks_like_jwt) {
        path.split('/')
            .map(|segment| {
                if looks_like_jwt(segment) {
                    "[redacted]"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    } else {
        path.to_owned()
    };
    if query.is_empty() {
        return path;
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if looks_like_jwt(&value)
            || REDACTED_PARAMETERS
                .iter()
                .any(|p| key.eq_ignore_ascii_case(p))
        {
            out.append_pair(&key, "[redacted]");
        } else {
            out.append_pair(&key, &value);
        }
    }
    format!("{path}?{}", out.finish())
}

/// Three base64url segments separated by dots, the first long enough to be a JOSE header
/// (a compact JWS/JWE; `eyJ…` when it is JSON).
fn looks_like_jwt(text: &str) -> bool {
    let segments: Vec<&str> = text.split('.').collect();
    let base64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    segments.len() >= 3
        && segments[0].len() >= 10
        && segments[1].len() >= 2
        && segments.iter().all(|s| base64url(s))
}

/// Middleware: one span per request (method, redacted target, client address) and one log
/// line when it completes, with status and latency (`elapsed_us`, whole microseconds).
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        target = %redact_target(req.path(), req.query_string()),
        peer = %req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
    );
    let started = Instant::now();
    async move {
        let result = next.call(req).await;
        let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match &result {
            Ok(res) if res.status().is_server_error() => {
                tracing::warn!(status = res.status().as_u16(), elapsed_us, "request failed")
            }
            Ok(res) => tracing::info!(
                status = res.status().as_u16(),
                elapsed_us,
                "request completed"
            ),
            Err(error) => tracing::warn!(%error, elapsed_us, "request errored"),
        }
        result
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_targets_are_quiet_unless_asked_for() {
        for (target, directive) in QUIET {
            assert!(filter(None).to_string().contains(directive), "{target}");
            assert!(
                filter(Some("debug")).to_string().contains(directive),
                "{target}"
            );
            let asked = filter(Some(&format!("info,{target}=debug"))).to_string();
            assert!(!asked.contains(directive), "{target}: {asked}");
        }
    }

    #[test]
    fn tokens_never_reach_the_log_line() {
        let line = redact_target(
            "/user/profile",
            "secret_token=abc.def.ghi&secret_token=x&SECRET_TOKEN=y",
        );
        assert!(!line.contains("abc"), "{line}");
        assert!(!line.contains("=x") && !line.contains("=y"), "{line}");
        assert_eq!(redact_target("/health", ""), "/health");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        for (path, query) in [
            (format!("/user/profile/{jwt}"), String::new()),
            ("/user/profile".to_owned(), format!("other={jwt}")),
            (format!("/a/{jwt}/b"), "x=1".to_owned()),
        ] {
            let line = redact_target(&path, &query);
            assert!(!line.contains("eyJ"), "{line}");
            assert!(line.contains("redacted"), "{line}");
        }
        assert_eq!(redact_target("/v1.2.3/x", ""), "/v1.2.3/x");
    }
}
