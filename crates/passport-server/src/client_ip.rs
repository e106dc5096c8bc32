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

    /// The client address of `req`, when it is an address (see [`client`](Self::client)).
    pub fn of(&self, req: &HttpRequest) -> Option<IpAddr> {
        match self.client(req)? {
            Client::Ip(ip) => Some(ip),
            Client::Unparsed(_) => None,
        }
    }

    /// Who sent `req`.
    ///
    /// Without a trusted peer, the socket address is the answer whatever the headers say. From
    /// a trusted peer, `X-Forwarded-For` is read right to left and the first entry that is
    /// not itself a trusted proxy wins (entries a client prepended are never reached). An
    /// entry may carry a port (`203.0.113.5:5123`, `[2001:db8::1]:443`) or brackets; an entry
    /// that is no address at all (`unknown`, an obfuscated identifier) is a client of its
    /// own ([`Client::Unparsed`]), never the proxy: otherwise every client behind a proxy
    /// that writes such entries would share the proxy's rate-limit bucket.
    pub fn client(&self, req: &HttpRequest) -> Option<Client> {
        // `::ffff:10.0.0.1` (a dual-stack bind) is the IPv4 address it wraps.
        let peer = req.peer_addr()?.ip().to_canonical();
        if !self.is_trusted(peer) {
            return Some(Client::Ip(peer));
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
            match parse_hop(hop).map(|ip| ip.to_canonical()) {
                Some(ip) if self.is_trusted(ip) => client = ip,
                Some(ip) => return Some(Client::Ip(ip)),
                None => return Some(Client::unparsed(hop)),
            }
        }
        Some(Client::Ip(client))
    }
}

/// Who a request comes from, as this server can tell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    /// An address: the socket peer, or an `X-Forwarded-For` entry from a trusted proxy.
    Ip(IpAddr),
    /// An `X-Forwarded-For` entry from a trusted proxy that is no address (`unknown`, an
    /// RFC 7239 obfuscated identifier), at most 64 bytes of it: a client key of its own.
    Unparsed(String),
}

impl Client {
    fn unparsed(hop: &str) -> Self {
        let mut end = hop.len().min(64);
        while !hop.is_char_boundary(end) {
            end -= 1;
        }
        Self::Unparsed(hop[..end].to_owned())
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Unparsed(entry) => write!(f, "forwarded:{}", entry.escape_default()),
        }
    }
}

/// An `X-Forwarded-For` entry as an address: bare, with a port, or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
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
    fn forwarded_entries_with_ports_or_brackets_are_their_addresses() {
        let ips = ClientIp::new(vec!["10.0.0.0/8".parse().unwrap()]);
        for (entry, client) in [
            ("203.0.113.5:5123", "203.0.113.5"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("10.0.0.3:80, 198.51.100.7:1", "198.51.100.7"),
        ] {
            let req = request("10.0.0.1", Some(entry));
            assert_eq!(ips.of(&req), client.parse().ok(), "{entry}");
        }
    }

    #[test]
    fn an_unparseable_forwarded_entry_is_its_own_key_never_the_proxys() {
        let ips = ClientIp::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let unknown = ips.client(&request("10.0.0.1", Some("unknown"))).unwrap();
        assert_eq!(unknown, Client::Unparsed("unknown".into()));
        assert_ne!(unknown, Client::Ip("10.0.0.1".parse().unwrap()));
        let obfuscated = ips.client(&request("10.0.0.1", Some("_hidden, 10.0.0.2")));
        assert_eq!(obfuscated, Some(Client::Unparsed("_hidden".into())));
        assert_eq!(ips.of(&request("10.0.0.1", Some("unknown"))), None);
        let long = "x".repeat(500);
        assert_eq!(
            ips.client(&request("10.0.0.1", Some(&long))),
            Some(Client::Unparsed("x".repeat(64))),
            "bounded"
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
