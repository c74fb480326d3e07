//! The audit log: every control-plane change leaves one entry with its actor, tenant,
//! request id and client address, written by the change's own transaction; no entry holds a
//! secret; `GET /v1/audit` filters and pages; the database itself refuses to change or
//! delete an entry, even for the platform's own role; `control-api audit` prints them.

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{
    Platform, ROOT_EMAIL, ROOT_PASSWORD, TENANT_ADMIN_PASSWORD, assert_field_refused,
    assert_problem, control_plane, pg_connect,
};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

/// The harness's HTTP client connects from 127.0.0.1: trusting it makes the server keep the
/// `X-Request-Id` the test sends, and believe `X-Forwarded-For`.
fn behind_proxy() -> platform_harness::Builder {
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

/// Runs `control-api` with the deployment's environment, `stdin` on its standard input.
fn cli(app: &Platform, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_control-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(&app.env)
        .current_dir(std::env::temp_dir())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("control-api runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
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
    let root = app.root();
    let login = |rid: &'static str, password: &'static str| {
        app.control()
            .post("/v1/auth/login")
            .header("x-request-id", rid)
            .json(&json!({"email": ROOT_EMAIL, "password": password}))
            .send()
    };
    assert_eq!(login("rid-login", ROOT_PASSWORD).await.status(), 200);
    assert_problem(
        login("rid-login-failed", "not the password").await,
        401,
        "unauthorized",
    )
    .await;

    let slug = app.slug("audited");
    let res = root
        .post("/v1/tenants")
        .header("x-request-id", "rid-create")
        .json(&json!({"slug": slug, "name": "Audited", "plan": "pro",
                      "admin_email": format!("owner@{slug}.test"),
                      "admin_password": TENANT_ADMIN_PASSWORD}))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let created: Value = res.json().await.unwrap();
    let tenant_id = created["id"].as_str().unwrap().to_string();
    app.wait_for_status(&slug, "failed").await;
    // Read while the tenant is failed: the seed hash is forgotten once it is active.
    let registry = app.pg(&app.names.control_db).await;
    let seed_hash: String = registry
        .query_one(
            "SELECT seed_admin_password_hash FROM tenants WHERE id::text = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);

    fault.disarm();
    let action = |method: reqwest::Method, path: String, rid: &'static str| {
        root.request(method, &path).header("x-request-id", rid)
    };
    let post = reqwest::Method::POST;
    let res = action(
        post.clone(),
        format!("/v1/tenants/{slug}/provision"),
        "rid-retry",
    )
    .send()
    .await;
    assert_eq!(res.status(), 202);
    let retry_job = res.json::<Value>().await.unwrap()["job"]["id"].clone();
    app.wait_for_status(&slug, "active").await;
    let res = action(
        reqwest::Method::PATCH,
        format!("/v1/tenants/{slug}"),
        "rid-update",
    )
    .json(&json!({"name": "Renamed", "plan": "pro"}))
    .send()
    .await;
    assert_eq!(res.status(), 200);
    let res = action(
        post.clone(),
        format!("/v1/tenants/{slug}/suspend"),
        "rid-suspend",
    )
    .header("x-forwarded-for", "203.0.113.7")
    .send()
    .await;
    assert_eq!(res.status(), 200);
    // Already suspended: nothing changes, nothing is recorded.
    let res = action(
        post.clone(),
        format!("/v1/tenants/{slug}/suspend"),
        "rid-again",
    )
    .send()
    .await;
    assert_eq!(res.status(), 200);
    let res = action(
        post.clone(),
        format!("/v1/tenants/{slug}/activate"),
        "rid-activate",
    )
    .send()
    .await;
    assert_eq!(res.status(), 200);
    let delete = reqwest::Method::DELETE;
    let res = action(delete.clone(), format!("/v1/tenants/{slug}"), "rid-delete")
        .send()
        .await;
    assert_eq!(res.status(), 200);
    let sealed: Vec<u8> = registry
        .query_one(
            "SELECT db_password_sealed FROM tenants WHERE id::text = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    let res = action(
        delete,
        format!("/v1/tenants/{slug}?purge=true"),
        "rid-purge",
    )
    .send()
    .await;
    assert_eq!(res.status(), 202);
    let purge_job = res.json::<Value>().await.unwrap()["job"]["id"].clone();
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
    assert_eq!(retry["job_id"], retry_job);
    assert_eq!(
        by_request(&about, "rid-purge", "tenant.purge")["changes"]["job_id"],
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

    // No secret anywhere: passwords, their hashes, the sealed database credential.
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
    let mut secrets = vec![
        ROOT_PASSWORD.to_string(),
        "not the password".into(),
        TENANT_ADMIN_PASSWORD.into(),
        "ops-first-password".into(),
        "ops-second-password".into(),
        seed_hash,
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
async fn the_log_filters_by_tenant_actor_action_and_time_and_pages_newest_first() {
    let app = behind_proxy().spawn().await;
    let (a, b) = (app.slug("first"), app.slug("second"));
    for slug in [&a, &b] {
        assert_eq!(
            app.create_tenant(slug, TENANT_ADMIN_PASSWORD)
                .await
                .status(),
            202
        );
    }
    app.wait_for_status(&a, "active").await;
    app.wait_for_status(&b, "active").await;
    let root = app.root();

    let page: Value = root.get(&format!("/v1/audit?tenant={a}")).read().await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["tenant_slug"], a.as_str());
    assert_eq!((&page["page"], &page["per_page"]), (&json!(1), &json!(20)));

    let creates: Value = root.get("/v1/audit?action=tenant.create").read().await;
    assert_eq!(creates["total"], 2);
    let order: Vec<&Value> = creates["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["tenant_slug"])
        .collect();
    assert_eq!(order, [&json!(b), &json!(a)], "newest first");
    let second: Value = root
        .get("/v1/audit?action=tenant.create&per_page=1&page=2")
        .read()
        .await;
    assert_eq!(second["total"], 2);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["tenant_slug"], a.as_str());
    let beyond: Value = root
        .get("/v1/audit?action=tenant.create&page=3&per_page=1")
        .read()
        .await;
    assert_eq!(
        (
            beyond["total"].clone(),
            beyond["items"].as_array().unwrap().len()
        ),
        (json!(2), 0)
    );

    // The harness's own login, then two creates: all by the root admin.
    let by_root: Value = root
        .get(&format!("/v1/audit?actor={ROOT_EMAIL}"))
        .read()
        .await;
    assert_eq!(by_root["total"], 3, "{by_root}");
    let nobody: Value = root
        .get("/v1/audit?actor=nobody@platform.test")
        .read()
        .await;
    assert_eq!(nobody["total"], 0);

    // `since` is inclusive: from the newer create on, the older one is left out.
    let since = creates["items"][0]["at"]
        .as_str()
        .unwrap()
        .replace('+', "%2B");
    let newer: Value = root
        .get(&format!("/v1/audit?action=tenant.create&since={since}"))
        .read()
        .await;
    assert_eq!(newer["total"], 1, "{newer}");
    assert_eq!(newer["items"][0]["tenant_slug"], b.as_str());
    let future: Value = root.get("/v1/audit?since=2099-01-01").read().await;
    assert_eq!(future["total"], 0);
    let everything: Value = root.get("/v1/audit").read().await;
    let past: Value = root
        .get("/v1/audit?since=2000-01-01T00:00:00Z")
        .read()
        .await;
    assert_eq!(past["total"], everything["total"]);

    // Every bad parameter is named, all at once.
    assert_field_refused(root.get("/v1/audit?since=yesterday").send().await, "since").await;
    assert_field_refused(
        root.get("/v1/audit?action=tenant.explode").send().await,
        "action",
    )
    .await;
    assert_field_refused(
        root.get("/v1/audit?tenant=Not_A_Slug").send().await,
        "tenant",
    )
    .await;
    assert_field_refused(root.get("/v1/audit?tenant=admin").send().await, "tenant").await;
    assert_field_refused(root.get("/v1/audit?per_page=0").send().await, "per_page").await;
    let body = assert_problem(
        root.get("/v1/audit?since=soon&action=nope").send().await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    assert_problem(
        app.control().get("/v1/audit").send().await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_role_can_append_but_never_change_or_delete_an_entry() {
    let app = behind_proxy().spawn().await;
    // The role and database the platform itself runs with.
    let db = pg_connect(&app.env["CONTROL_DATABASE_URL"]).await.unwrap();
    let count = || async {
        db.query_one("SELECT count(*) FROM audit_log", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = count().await;
    assert!(before >= 1, "the harness's login is recorded");
    for sql in [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET changes = '{}' WHERE id = -1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE false",
        "TRUNCATE audit_log",
    ] {
        let err = db.batch_execute(sql).await.expect_err(sql);
        assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
    }
    // Not even with ordinary triggers switched off for replication.
    let err = db
        .batch_execute("SET session_replication_role = replica; DELETE FROM audit_log")
        .await
        .expect_err("a replica-mode delete");
    assert!(format!("{err:?}").contains("append-only"), "{err:?}");
    db.batch_execute("SET session_replication_role = origin")
        .await
        .unwrap();
    assert_eq!(count().await, before);
    db.execute(
        "INSERT INTO audit_log (actor, action) VALUES ('system', 'server.add')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(count().await, before + 1, "appending still works");
}
