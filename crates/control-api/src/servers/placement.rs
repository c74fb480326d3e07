//! Where a new tenant goes: the accepting server with the most room relative to its
//! capacity, or the one its create request names.

use super::ServerState;
use crate::repo::servers::{self, DbServer};
use sea_orm::DatabaseTransaction;
use tenancy_core::ApiError;

/// Room left as a share of capacity; a full (or zero-capacity) server has none.
fn room(s: &DbServer) -> Option<f64> {
    let cap = i64::from(s.capacity);
    (s.tenants < cap).then(|| (cap - s.tenants) as f64 / cap as f64)
}

/// The server with the most room, ties to the first by name; `None` when all are full.
fn most_room(candidates: &[DbServer]) -> Option<&DbServer> {
    candidates
        .iter()
        .filter(|s| s.admin_url_sealed.is_some())
        .filter_map(|s| room(s).map(|r| (s, r)))
        .fold(None, |best: Option<(&DbServer, f64)>, (s, r)| match best {
            Some((_, b)) if b >= r => best,
            _ => Some((s, r)),
        })
        .map(|(s, _)| s)
}

/// Picks the server for a new tenant inside the registering transaction (the servers'
/// rows stay locked until it commits). A named server that does not exist is a 422, a
/// draining or full one a 409.
pub(crate) async fn place(
    txn: &DatabaseTransaction,
    requested: Option<&super::ServerName>,
) -> Result<String, ApiError> {
    let accepting = servers::lock_accepting(txn).await?;
    let Some(name) = requested else {
        return most_room(&accepting)
            .map(|s| s.name.clone())
            .ok_or_else(|| {
                ApiError::conflict(
                    "no accepting database server has room: add a server or raise a capacity",
                )
            });
    };
    if let Some(s) = accepting.iter().find(|s| s.name == name.as_str()) {
        return match room(s) {
            Some(_) if s.admin_url_sealed.is_some() => Ok(s.name.clone()),
            _ => Err(ApiError::conflict(format!(
                "database server `{name}` is full ({} of {} tenants)",
                s.tenants, s.capacity
            ))),
        };
    }
    match servers::find(txn, name.as_str()).await? {
        Some(s) if ServerState::parse(&s.state) == Ok(ServerState::Draining) => Err(
            ApiError::conflict(format!("database server `{name}` is draining")),
        ),
        _ => Err(ApiError::field(
            "server",
            format!("no database server `{name}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, tenants: i64, capacity: i32) -> DbServer {
        let now = chrono::Utc::now().fixed_offset();
        DbServer {
            name: name.into(),
            host: "h".into(),
            port: 5432,
            admin_url_sealed: Some(vec![1]),
            admin_key_version: Some(1),
            capacity,
            state: "accepting".into(),
            created_at: now,
            updated_at: now,
            tenants,
        }
    }

    #[test]
    fn the_server_with_the_most_room_relative_to_capacity_wins() {
        // b holds more tenants but has more room for its size.
        let servers = [server("a", 5, 10), server("b", 20, 100)];
        assert_eq!(most_room(&servers).map(|s| s.name.as_str()), Some("b"));
        let even = [server("a", 1, 2), server("b", 2, 4)];
        assert_eq!(most_room(&even).map(|s| s.name.as_str()), Some("a"));
    }

    #[test]
    fn full_servers_and_servers_without_an_admin_url_get_none() {
        let mut unsealed = server("c", 0, 10);
        unsealed.admin_url_sealed = None;
        let servers = [server("a", 10, 10), server("b", 0, 0), unsealed];
        assert!(most_room(&servers).is_none());
    }
}
