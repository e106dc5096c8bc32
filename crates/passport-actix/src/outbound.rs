//! Outbound HTTP (a remote JWKS, OpenID discovery and code exchange): the one rule for the
//! URLs the library fetches from, and the one client it fetches with.

use std::time::Duration;

use reqwest::Url;

/// Why a URL may not be fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Plain `http://` on a host that is not loopback: anyone on the path could answer.
    PlainHttp,
    /// Neither `https` nor `http` (the scheme, for the message).
    Scheme(String),
}

/// Accepts `https://`, and plain `http://` only on a loopback host (`localhost`, `127.0.0.0/8`,
/// `::1`), where a local test provider or issuer lives.
pub(crate) fn https_or_loopback(url: &Url) -> Result<(), Refused> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Refused::PlainHttp),
        other => Err(Refused::Scheme(other.to_owned())),
    }
}

fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The client every outbound fetch uses: `timeout` for connecting and for the whole request,
/// no redirect followed (the configured URL is the only place keys and tokens come from, and
/// following one from a token endpoint would be an SSRF vector), and no pooled connection
/// (fetches are rare and may run on any worker's runtime, so none is shared between runtimes).
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<(), Refused> {
        https_or_loopback(&Url::parse(url).unwrap())
    }

    #[test]
    fn https_anywhere_plain_http_on_loopback_only() {
        assert_eq!(check("https://auth.example.com/jwks.json"), Ok(()));
        for loopback in [
            "http://127.0.0.1:9/j",
            "http://127.1.2.3/j",
            "http://localhost/j",
            "http://LOCALHOST:8080/j",
            "http://[::1]:9/j",
        ] {
            assert_eq!(check(loopback), Ok(()), "{loopback}");
        }
        for remote in [
            "http://auth.example.com/j",
            "http://10.0.0.1/j",
            "http://[::2]/j",
            "http://localhost.example.com/j",
        ] {
            assert_eq!(check(remote), Err(Refused::PlainHttp), "{remote}");
        }
        assert_eq!(
            check("file:///etc/passwd"),
            Err(Refused::Scheme("file".to_owned()))
        );
    }
}
