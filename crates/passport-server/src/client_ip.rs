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
        // `::ffff:10.0.0.1` (a dual-stack bind) is the IPv4 address it wraps.
        let peer = req.peer_addr()?.ip().to_canonical();
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
            match hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) if self.is_trusted(ip) => client = ip,
                Ok(ip) => return Some(ip),
                Err(_) => return Some(client),
            }
        }
        Some(client)
    }
}

/// The unit a client is rate limited as: its IPv4 address, or its IPv6 /64 — one end site
/// holds a whole /64, so limiting single IPv6 addresses would limit nothing.
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            IpAddr::V6((u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000).into())
        }
        v4 => v4,
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
    fn ipv6_clients_are_limited_per_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(rate_limit_key(a), rate_limit_key(b));
        assert_ne!(rate_limit_key(a), rate_limit_key(other));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            rate_limit_key(mapped),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_dual_stack_peer_matches_an_ipv4_trusted_proxy() {
        let ips = ClientIp::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let req = request("[::ffff:10.0.0.1]", Some("198.51.100.7"));
        assert_eq!(ips.of(&req), "198.51.100.7".parse().ok());
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
