//! The audit log: every control-plane change leaves one entry with its actor, tenant,
//! request id and client address, written by the change's own transaction; no entry holds a
//! secret; `GET /v1/audit` filters and pages; the database itself refuses to change or
//! delete an entry, even for the platform's own role; `control-api audit` prints them; the
//! reconciler's own changes are the `system`'s.

mod append_only;
mod filters;
mod servers;

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{
    Platform, ROOT_EMAIL, ROOT_PASSWORD, Request, TENANT_ADMIN_PASSWORD, WAIT_LIMIT, control_plane,
    wait_until,
};
use serde_json::{Value, json};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

/// The harness's HTTP client connects from 127.0.0.1: trusting it makes the server keep the
/// `X-Request-Id` the test sends, and believe `X-Forwarded-For`.
pub(super) fn behind_proxy() -> platform_harness::Builder {
    control_plane().env("TRUSTED_PROXIES", "127.0.0.1")
}

/// Every entry matching `query` (at most 100).
async fn entries(app: &Platform, query: &str) -> Vec<Value> {
    let page: Value = app
        .root()
        .get(&format!("/v1/audit?per_page=100&{query}"))
        .read()
        .await;
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .clone()
}

/// The one entry recorded for the request `rid`, which must be a `action`.
fn by_request<'a>(all: &'a [Value], rid: &str, action: &str) -> &'a Value {
    let found: Vec<&Value> = all.iter().filter(|e| e["request_id"] == rid).collect();
    assert_eq!(found.len(), 1, "one entry for request {rid}: {all:#?}");
    assert_eq!(found[0]["action"], action, "{}", found[0]);
    found[0]
}

/// A request as the root admin, carrying the request id `rid`.
fn send(app: &Platform, method: &str, path: &str, rid: &str) -> Request {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    app.root().request(method, path).header("x-request-id", rid)
}

/// Sends `req`, expects `status`, returns the JSON body.
async fn expect(req: Request, status: u16) -> Value {
    let res = req.send().await;
    assert_eq!(res.status(), status);
    res.json().await.unwrap()
}

fn cli(app: &Platform, args: &[&str], stdin: &str) -> Output {
    crate::cli_run::control_api(app, args, stdin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_recorded_once_with_its_actor_tenant_and_request_id() {
    // Provisioning fails until disarmed, so the tenant can be retried.
    let fault = Arc::new(Fault::new(Step::CreateDatabase, FaultKind::Fail));
    let app = behind_proxy()
        .fault(fault.clone())
        .env("PROVISION_MAX_ATTEMPTS", "1")
        .spawn()
        .await;
    let login = |rid, password| {
        app.control()
            .post("/v1/auth/login")
            .header("x-request-id", rid)
            .json(&json!({"email": ROOT_EMAIL, "password": password}))
    };
    expect(login("rid-login", ROOT_PASSWORD), 200).await;
    expect(login("rid-login-failed", "not the password"), 401).await;

    let slug = app.slug("audited");
    let tenant = format!("/v1/tenants/{slug}");
    let body = json!({"slug": slug, "name": "Audited", "plan": "pro",
                      "admin_email": format!("owner@{slug}.test"),
                      "admin_password": TENANT_ADMIN_PASSWORD});
    let created = expect(
        send(&app, "POST", "/v1/tenants", "rid-create").json(&body),
        202,
    )
    .await;
    let tenant_id = created["id"].as_str().unwrap().to_string();
    app.wait_for_status(&slug, "failed").await;
    // Read while the tenant is failed (before its seed step): the sealed first-admin
    // password is erased once hashed.
    let registry = app.pg(&app.names.control_db).await;
    let column = |name: &'static str| {
        let (registry, id) = (&registry, tenant_id.clone());
        async move {
            let sql = format!("SELECT {name} FROM tenants WHERE id::text = $1");
            registry.query_one(&sql, &[&id]).await.unwrap()
        }
    };
    let seed_sealed: Vec<u8> = column("seed_admin_password_sealed").await.get(0);

    fault.disarm();
    let provision = format!("{tenant}/provision");
    let retried = expect(send(&app, "POST", &provision, "rid-retry"), 202).await;
    app.wait_for_status(&slug, "active").await;
    let rename = json!({"name": "Renamed", "plan": "pro"});
    expect(
        send(&app, "PATCH", &tenant, "rid-update").json(&rename),
        200,
    )
    .await;
    let suspend = format!("{tenant}/suspend");
    let from_proxy = send(&app, "POST", &suspend, "rid-suspend");
    expect(from_proxy.header("x-forwarded-for", "203.0.113.7"), 200).await;
    // Already suspended: nothing changes, nothing is recorded.
    expect(send(&app, "POST", &suspend, "rid-again"), 200).await;
    let activate = format!("{tenant}/activate");
    expect(send(&app, "POST", &activate, "rid-activate"), 200).await;
    expect(send(&app, "DELETE", &tenant, "rid-delete"), 200).await;
    let sealed: Vec<u8> = column("db_password_sealed").await.get(0);
    let purge = format!("{tenant}?purge=true");
    let purged = expect(send(&app, "DELETE", &purge, "rid-purge"), 202).await;
    let purge_job = &purged["job"]["id"];
    app.wait_for_job(purge_job.as_str().unwrap(), |j| j["state"] == "succeeded")
        .await;

    // The CLI creates an admin, then resets it.
    for password in ["ops-first-password\n", "ops-second-password\n"] {
        let out = cli(
            &app,
            &[
                "admin",
                "create",
                "--email",
                "ops@platform.test",
                "--password-stdin",
            ],
            password,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Each tenant change: one entry, the admin as actor, the tenant, the request's id.
    let about = entries(&app, &format!("tenant={slug}")).await;
    let mut actions: Vec<&str> = about
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.reverse();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "tenant.retry",
            "tenant.update",
            "tenant.suspend",
            "tenant.activate",
            "tenant.delete",
            "tenant.purge"
        ],
        "oldest first, nothing else and nothing twice"
    );
    for (rid, action) in [
        ("rid-create", "tenant.create"),
        ("rid-retry", "tenant.retry"),
        ("rid-update", "tenant.update"),
        ("rid-suspend", "tenant.suspend"),
        ("rid-activate", "tenant.activate"),
        ("rid-delete", "tenant.delete"),
        ("rid-purge", "tenant.purge"),
    ] {
        let e = by_request(&about, rid, action);
        assert_eq!(e["actor"], ROOT_EMAIL, "{e}");
        assert_eq!(e["tenant_slug"], slug.as_str(), "{e}");
        assert_eq!(e["tenant_id"], tenant_id.as_str(), "{e}");
        let from = if action == "tenant.suspend" {
            "203.0.113.7"
        } else {
            "127.0.0.1"
        };
        assert_eq!(e["client_addr"], from, "{e}");
        assert!(e["at"].is_string(), "{e}");
    }
    let create = &by_request(&about, "rid-create", "tenant.create")["changes"];
    assert_eq!(create["after"]["slug"], slug.as_str());
    assert_eq!(create["after"]["plan"], "pro");
    assert_eq!(create["after"]["status"], "provisioning");
    assert_eq!(create["job_id"], created["job"]["id"]);
    assert_eq!(
        by_request(&about, "rid-update", "tenant.update")["changes"],
        json!({"before": {"name": "Audited"}, "after": {"name": "Renamed"}}),
        "only the fields that changed"
    );
    assert_eq!(
        by_request(&about, "rid-suspend", "tenant.suspend")["changes"],
        json!({"before": {"status": "active"}, "after": {"status": "suspended"}})
    );
    let retry = &by_request(&about, "rid-retry", "tenant.retry")["changes"];
    assert_eq!(retry["before"]["status"], "failed");
    assert_eq!(retry["job_id"], retried["job"]["id"]);
    assert_eq!(
        &by_request(&about, "rid-purge", "tenant.purge")["changes"]["job_id"],
        purge_job
    );

    // Logins, success and failure, and the CLI's admin changes.
    let all = entries(&app, "").await;
    for (rid, action) in [
        ("rid-login", "auth.login"),
        ("rid-login-failed", "auth.login_failed"),
    ] {
        let e = by_request(&all, rid, action);
        assert_eq!(
            (&e["actor"], &e["tenant_id"]),
            (&json!(ROOT_EMAIL), &Value::Null),
            "{e}"
        );
        assert_eq!(e["client_addr"], "127.0.0.1");
    }
    let cli_entries: Vec<&Value> = all.iter().filter(|e| e["actor"] == "cli").collect();
    let cli_actions: Vec<&str> = cli_entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(cli_actions, ["admin.reset", "admin.create"], "newest first");
    for e in &cli_entries {
        assert_eq!(e["request_id"], Value::Null);
        assert!(e.to_string().contains("ops@platform.test"), "{e}");
    }

    // No secret anywhere: passwords, their hashes, the sealed database credential and
    // sealed first-admin password.
    let text = serde_json::to_string(&all).unwrap();
    let admin_hashes: Vec<String> = registry
        .query("SELECT password_hash FROM super_admins", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(admin_hashes.len(), 2);
    let hex: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&sealed);
    let seed_hex: String = seed_sealed.iter().map(|b| format!("{b:02x}")).collect();
    let seed_b64 = base64::engine::general_purpose::STANDARD.encode(&seed_sealed);
    let mut secrets = vec![
        ROOT_PASSWORD.to_string(),
        "not the password".into(),
        TENANT_ADMIN_PASSWORD.into(),
        "ops-first-password".into(),
        "ops-second-password".into(),
        seed_hex,
        seed_b64,
        hex,
        b64,
        "$argon2".into(),
    ];
    secrets.extend(admin_hashes);
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "an audit entry holds {secret}: {text}"
        );
    }

    // The CLI prints the tenant's entries, one line each, newest first.
    let out = cli(&app, &["audit", "--tenant", &slug], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(
        lines[0].contains("tenant.purge") && lines[6].contains("tenant.create"),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains(slug.as_str()) && l.contains(ROOT_EMAIL)),
        "{stdout}"
    );
    assert!(lines[3].contains("request=rid-suspend") && lines[3].contains("from=203.0.113.7"));
    let out = cli(
        &app,
        &["audit", "--since", "2099-01-01", "--limit", "5"],
        "",
    );
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
    let out = cli(&app, &["audit", "--since", "yesterday"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--since"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconcilers_new_job_is_recorded_as_the_systems() {
    let app = behind_proxy().spawn().await;
    let slug = app.slug("stranded");
    app.active_tenant(&slug).await;
    // Left in `provisioning` without a job, as after a crash between two writes.
    app.pg(&app.names.control_db)
        .await
        .execute(
            "UPDATE tenants SET status = 'provisioning' WHERE slug = $1",
            &[&slug],
        )
        .await
        .unwrap();
    let query = format!("tenant={slug}&action=tenant.retry");
    let entry = wait_until(
        "the reconciler's entry",
        WAIT_LIMIT,
        Duration::from_millis(100),
        || async {
            let found = entries(&app, &query).await;
            found.first().cloned().ok_or_else(|| "none yet".to_string())
        },
    )
    .await;
    assert_eq!(entry["actor"], "system", "{entry}");
    assert_eq!(entry["request_id"], Value::Null);
    assert!(entry["changes"]["job_id"].is_string(), "{entry}");
    app.wait_for_status(&slug, "active").await;
}
