//! The client's address: the socket peer, or `X-Forwarded-For` when the peer is a trusted proxy.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Finds the client address of requests, believing `X-Forwarded-For` only from trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct ClientIp {
    trusted: Vec<IpNet>,
}

impl ClientIp {
    /// Trusts `X-Forwarded-For` from peers inside `trusted`.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client address of `req`.
    ///
    /// Without a trusted peer, the socket address is the answer whatever the headers say. From
    /// a trusted peer, `X-Forwarded-For` is read right to left and the first address that is
    /// not itself a trusted proxy wins (entries a client prepended are never reached).
    pub fn of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.is_trusted(ip) => client = ip,
                Ok(ip) => return Some(ip),
                Err(_) => return Some(client),
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default().peer_addr(format!("{peer}:1234").parse().unwrap());
        if let Some(xff) = xff {
            req = req.insert_header(("x-forwarded-for", xff));
        }
        req.to_http_request()
    }

    #[test]
    fn forged_headers_from_untrusted_peers_are_ignored() {
        let ips = ClientIp::default();
        assert_eq!(
            ips.of(&request("203.0.113.9", Some("1.2.3.4"))),
            "203.0.113.9".parse().ok()
        );
    }

    #[test]
    fn trusted_proxies_are_skipped_right_to_left() {
        let ips = ClientIp::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let req = request("10.0.0.1", Some("6.6.6.6, 198.51.100.7, 10.0.0.2"));
        assert_eq!(
            ips.of(&req),
            "198.51.100.7".parse().ok(),
            "the client-supplied 6.6.6.6 is not believed"
        );
        assert_eq!(ips.of(&request("10.0.0.1", None)), "10.0.0.1".parse().ok());
    }
}
