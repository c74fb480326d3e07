//! Who is asking: the client address and host of a request, believing `Forwarded` /
//! `X-Forwarded-*` only from a trusted proxy.

use actix_web::HttpRequest;
use std::net::{IpAddr, Ipv4Addr};

/// The address of the TCP peer (unspecified if unknown, as in actix's test requests).
pub fn peer_ip(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip())
}
