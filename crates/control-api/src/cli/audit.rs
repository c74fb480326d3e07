//! `control-api audit [--tenant SLUG] [--actor A] [--action A] [--since T] [--limit N]`:
//! the newest audit entries, one line each, straight from the control database (no API
//! token needed: whoever runs it already holds the database URL).

use crate::audit::{self, Action};
use crate::repo::audit::{AuditRow, Filter, list};
use crate::settings;
use crate::startup;
use anyhow::{anyhow, bail};
use tenancy_core::config::ProcessEnv;
use tenancy_core::domain::TenantSlug;

/// The command's flags, as given.
pub struct Args {
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<String>,
    pub limit: i64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if !(1..=10_000).contains(&args.limit) {
        bail!("--limit must be between 1 and 10000");
    }
    if let Some(slug) = &args.tenant {
        TenantSlug::parse(slug).map_err(|e| anyhow!("--tenant: {e}"))?;
    }
    if let Some(action) = &args.action {
        Action::parse(action).ok_or_else(|| anyhow!("--action: no action `{action}`"))?;
    }
    let since = args
        .since
        .as_deref()
        .map(audit::parse_since)
        .transpose()
        .map_err(|e| anyhow!("--since {e}"))?;
    let filter = Filter {
        tenant_slug: args.tenant,
        actor: args.actor,
        action: args.action,
        since,
    };
    let url = settings::control_database_url(&ProcessEnv)?;
    let db = startup::connect_control_db(&url).await?;
    let (rows, total) = list(&db, &filter, 0, args.limit).await?;
    for row in &rows {
        println!("{}", line(row));
    }
    if total > rows.len() as i64 {
        eprintln!(
            "({} of {total} entries shown; raise --limit for more)",
            rows.len()
        );
    }
    Ok(())
}

/// `time  action  tenant  actor  request=..  from=..  changes`, tab-separated; `-` for none.
fn line(r: &AuditRow) -> String {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "{}\t{}\t{}\t{}\trequest={}\tfrom={}\t{}",
        r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        r.action,
        or_dash(&r.tenant_slug),
        r.actor,
        or_dash(&r.request_id),
        or_dash(&r.client_addr),
        r.changes
    )
}
