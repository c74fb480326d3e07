//! Who is asking: the client address and host of a request, believing `Forwarded` /
//! `X-Forwarded-*` only from a trusted proxy (`TRUSTED_PROXIES`).
//!
//! A client can send any header it likes; only a proxy we run can vouch for the address it
//! saw. So the forwarded headers are read only when the TCP peer is in `TRUSTED_PROXIES`,
//! and the client address is the right-most hop of the chain that is not itself a trusted
//! proxy: hops further left were written by whoever is on the other side of that hop.

use actix_web::{HttpRequest, web};
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

/// One `TRUSTED_PROXIES` entry: an address (a /32 or /128) or a CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(net.into(), self.prefix, 128) == masked(ip.into(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `width`-bit number.
fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits >> (width - prefix)
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))?;
        // A mapped IPv4 address (::ffff:10.0.0.1) is that IPv4 address.
        let net = match (net, prefix) {
            (IpAddr::V6(v6), None) => v6.to_ipv4_mapped().map_or(net, IpAddr::V4),
            _ => net,
        };
        let width = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{s}` has a prefix length outside 0..={width}"))?,
        };
        Ok(Cidr { net, prefix })
    }
}

/// The proxies whose forwarded headers are believed; empty: none are.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR ranges (IPv4 or IPv6); blanks
    /// between commas are ignored, anything else that is not an address is an error.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client address: `peer` itself unless it is trusted; then the right-most hop of
    /// `chain` (oldest first, as in the headers) that is not trusted. A hop that is not an
    /// address (`unknown`, an obfuscated name) ends the walk at the hop that reported it;
    /// a chain of trusted proxies only yields its left-most hop.
    pub fn client(&self, peer: IpAddr, chain: &[Option<IpAddr>]) -> IpAddr {
        let mut client = peer.to_canonical();
        for hop in chain.iter().rev() {
            if !self.contains(client) {
                break;
            }
            match hop {
                Some(ip) => client = ip.to_canonical(),
                None => break,
            }
        }
        client
    }
}

/// The `TrustedProxies` the server registered as app data (none when it registered none).
fn trusted(req: &HttpRequest) -> Option<&TrustedProxies> {
    req.app_data::<web::Data<TrustedProxies>>()
        .map(|d| d.get_ref())
}

/// The address of the TCP peer (unspecified if unknown, as in actix's test requests).
pub fn peer_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical())
}

/// Whether the TCP peer is a trusted proxy.
pub fn peer_trusted(req: &HttpRequest) -> bool {
    trusted(req).is_some_and(|t| t.contains(peer_ip(req)))
}

/// The client's address: see [`TrustedProxies::client`]. `Forwarded` wins over
/// `X-Forwarded-For` when both are present.
pub fn client_ip(req: &HttpRequest) -> IpAddr {
    let peer = peer_ip(req);
    let Some(proxies) = trusted(req).filter(|t| t.contains(peer)) else {
        return peer;
    };
    let forwarded = forwarded_params(req, "for");
    let chain: Vec<Option<IpAddr>> = if !forwarded.is_empty() {
        forwarded.iter().map(|v| node_ip(v)).collect()
    } else {
        header_list(req, "x-forwarded-for")
            .iter()
            .map(|v| node_ip(v))
            .collect()
    };
    proxies.client(peer, &chain)
}

/// The host the client asked for, lower-cased: from `Forwarded: host=` or
/// `X-Forwarded-Host` (the first, as the first proxy saw it) when the peer is trusted,
/// otherwise `Host` (or the request target's authority). The proxy must overwrite, not
/// append to, what the client sent.
pub fn host(req: &HttpRequest) -> String {
    let forwarded = peer_trusted(req)
        .then(|| {
            forwarded_params(req, "host")
                .into_iter()
                .next()
                .or_else(|| header_list(req, "x-forwarded-host").into_iter().next())
        })
        .flatten();
    forwarded
        .or_else(|| {
            req.headers()
                .get(actix_web::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Every comma-separated value of every `name` header, in order.
fn header_list(req: &HttpRequest, name: &str) -> Vec<String> {
    req.headers()
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The value of `key` in each element of the `Forwarded` headers (RFC 7239) that has it,
/// unquoted, in order.
fn forwarded_params(req: &HttpRequest, key: &str) -> Vec<String> {
    header_list(req, "forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(key)
                    .then(|| v.trim().trim_matches('"').to_string())
            })
        })
        .collect()
}

/// The address of a forwarded node: `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`,
/// `2001:db8::1`; `None` for `unknown`, an obfuscated name or anything else.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (addr, port) = node.rsplit_once(':')?;
    port.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_and_ranges_of_both_families() {
        let t =
            TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7,, fd00::/8 ,::1, 0.0.0.0/0 ").unwrap();
        assert!(t.contains(ip("10.200.3.4")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(t.contains(ip("fd12::3")));
        assert!(t.contains(ip("::1")));
        let narrow = TrustedProxies::parse("10.1.0.0/16,2001:db8::/32,127.0.0.1").unwrap();
        assert!(narrow.contains(ip("10.1.255.255")));
        assert!(!narrow.contains(ip("10.2.0.1")));
        assert!(narrow.contains(ip("2001:db8:ffff::1")));
        assert!(!narrow.contains(ip("2001:db9::1")));
        // An IPv4 peer seen on a dual-stack socket is still that IPv4 address.
        assert!(narrow.contains(ip("::ffff:127.0.0.1")));
        assert!(!narrow.contains(ip("127.0.0.2")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let ends = TrustedProxies::parse("1.2.3.4/32,::/0").unwrap();
        assert!(ends.contains(ip("1.2.3.4")) && !ends.contains(ip("1.2.3.5")));
        assert!(ends.contains(ip("2001:db8::9")));
    }

    #[test]
    fn invalid_entries_are_refused_by_name() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "localhost",
            "10.0.0.1/x",
            "1.2.3",
            "10.0.0.0/",
        ] {
            let e = TrustedProxies::parse(&format!("127.0.0.1,{bad}")).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let chain = |s: &[&str]| s.iter().map(|v| node_ip(v)).collect::<Vec<_>>();
        // Untrusted peer: whatever it claims is ignored.
        assert_eq!(
            t.client(ip("203.0.113.9"), &chain(&["1.1.1.1"])),
            ip("203.0.113.9")
        );
        // A forged left-most entry does not win over the hop our proxy saw.
        let c = chain(&["6.6.6.6", "198.51.100.2", "10.0.0.5"]);
        assert_eq!(t.client(ip("10.0.0.1"), &c), ip("198.51.100.2"));
        assert_eq!(
            t.client(ip("10.0.0.1"), &chain(&["10.0.0.3"])),
            ip("10.0.0.3")
        );
        assert_eq!(
            t.client(ip("10.0.0.1"), &chain(&["unknown"])),
            ip("10.0.0.1")
        );
        assert_eq!(t.client(ip("10.0.0.1"), &[]), ip("10.0.0.1"));
    }

    #[test]
    fn forwarded_nodes() {
        assert_eq!(node_ip("192.0.2.60"), Some(ip("192.0.2.60")));
        assert_eq!(node_ip("192.0.2.60:4711"), Some(ip("192.0.2.60")));
        assert_eq!(
            node_ip("[2001:db8:cafe::17]:4711"),
            Some(ip("2001:db8:cafe::17"))
        );
        assert_eq!(node_ip("2001:db8:cafe::17"), Some(ip("2001:db8:cafe::17")));
        assert_eq!(node_ip("unknown"), None);
        assert_eq!(node_ip("_hidden"), None);
    }
}
