//! The operator console: its page and files are served with a strict policy and refuse
//! other methods like any route; the tenants search it uses; and the whole console in
//! headless Chromium (`tests/console/console.mjs`, playwright-core with Debian's
//! `chromium`), against a real platform, failing when the script exits non-zero.

use control_api::jobs::{Fault, FaultKind, Step};
use platform_harness::{Platform, platform, spawn_control, spawn_platform};
use platform_harness::{ROOT_EMAIL, ROOT_PASSWORD, assert_field_refused, assert_problem};
use reqwest::Method;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_from_the_binary_under_a_strict_policy() {
    let app = spawn_control().await;
    let api = app.control();
    for (path, content_type) in [
        ("/console", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/tenant.js", "text/javascript"),
        ("/console/style.css", "text/css"),
    ] {
        let res = api.get(path).send().await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(
            header(&res, "content-type").starts_with(content_type),
            "{path}"
        );
        let csp = header(&res, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
    }
    let page = api.get("/console").text().await;
    assert!(
        !page.contains("<script>") && !page.contains("http"),
        "no inline script and nothing from another origin: {page}"
    );

    let res = api.get("/console/secrets.env").send().await;
    assert_problem(res, 404, "not_found").await;
    let res = api.request(Method::POST, "/console").send().await;
    assert_eq!(header(&res, "allow"), "GET");
    assert_problem(res, 405, "method_not_allowed").await;
    let res = api.request(Method::DELETE, "/console/app.js").send().await;
    assert_problem(res, 405, "method_not_allowed").await;

    // A page for browsers, not an API operation.
    let spec: Value = api.get("/openapi.json").read().await;
    let paths = spec["paths"].as_object().unwrap();
    assert!(
        paths.keys().all(|p| !p.starts_with("/console")),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_are_found_by_part_of_their_slug_or_name_in_any_case() {
    let app = spawn_control().await;
    let (acme, globex) = (app.slug("acme"), app.slug("globex"));
    for slug in [&acme, &globex] {
        assert_eq!(app.create_tenant(slug, "some-admin-pw").await.status(), 202);
    }
    let root = app.root();
    let found = |q: &str| {
        let root = root.clone();
        let q = q.to_string();
        async move {
            let url = format!("/v1/tenants?q={}", urlencode(&q));
            let page: Value = root.get(&url).read().await;
            let mut slugs: Vec<String> = page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("{q}: {page}"))
                .iter()
                .map(|t| t["slug"].as_str().unwrap().to_string())
                .collect();
            slugs.sort();
            assert_eq!(page["total"], slugs.len(), "{q}: {page}");
            slugs
        }
    };
    assert_eq!(found("ACME").await, vec![acme.clone()]);
    // The harness names each tenant `Tenant <slug>`.
    assert_eq!(found("tenant GLOB").await, vec![globex.clone()]);
    assert_eq!(found(&app.names.suffix).await, vec![acme.clone(), globex]);
    assert_eq!(found("  ").await.len(), 2, "blank is no search");
    // LIKE's wildcards are matched as themselves.
    assert!(found("%").await.is_empty());
    assert!(found("_").await.is_empty());
    let acme_active = format!("/v1/tenants?status=active&q={acme}");
    let page: Value = root.get(&acme_active).read().await;
    assert!(page["total"].as_i64().unwrap() <= 1, "{page}");

    let long = "x".repeat(201);
    let res = root.get(&format!("/v1/tenants?q={long}")).send().await;
    assert_field_refused(res, "q").await;
    let res = root.get("/v1/tenants?q=a%00b").send().await;
    assert_field_refused(res, "q").await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The browser test's folder, and where its screenshots are kept for review.
fn paths() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    (
        root.join("tests/console"),
        target.join("console-screenshots"),
    )
}

/// `node console.mjs` in `scenario` against `app`; `on_failed`, when given, runs once the
/// tenant is `failed` in the registry, and then the script is told to go on (a line on its
/// stdin). Fails the test when the script exits non-zero.
async fn run_browser(app: &Platform, slug: &str, scenario: &str, on_failed: Option<&dyn Fn()>) {
    let (dir, shots) = paths();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        PathBuf::from(&chromium).exists(),
        "{chromium} is missing: `apt-get install -y chromium` (scripts/test.sh does)"
    );
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    std::fs::create_dir_all(&shots).unwrap();
    let log_path = shots.join(format!("{scenario}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new("node")
        .arg(dir.join("console.mjs"))
        .current_dir(&dir)
        .env("CONSOLE_URL", app.control().url(""))
        .env("APP_API_URL", app.app().url(""))
        .env("ADMIN_EMAIL", ROOT_EMAIL)
        .env("ADMIN_PASSWORD", ROOT_PASSWORD)
        .env("SLUG", slug)
        .env("SCENARIO", scenario)
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("node runs (install nodejs)");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(on_failed) = on_failed {
        app.wait_for_status(slug, "failed").await;
        on_failed();
        stdin.write_all(b"go\n").unwrap();
    }
    drop(stdin);
    // The platform serves on this runtime's workers meanwhile.
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    let out = std::fs::read_to_string(&log_path).unwrap_or_default();
    println!("{out}");
    assert!(
        status.success(),
        "the browser test ({scenario}) failed ({status}); screenshots in {}\n{out}",
        shots.display()
    );
    assert!(out.contains("all steps passed"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_creates_watches_suspends_and_purges_a_tenant_in_a_real_browser() {
    let app = spawn_platform().await;
    let slug = app.slug("console");
    run_browser(&app, &slug, "lifecycle", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_a_failed_provisioning_step_and_retries_it_in_a_real_browser() {
    let fault = Arc::new(Fault::new(Step::MigrateAndSeed, FaultKind::Fail));
    let app = platform()
        .fault(fault.clone())
        .env("PROVISION_MAX_ATTEMPTS", "1")
        .spawn()
        .await;
    let slug = app.slug("retry");
    run_browser(&app, &slug, "retry", Some(&|| fault.disarm())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_backs_up_and_restores_a_tenant_from_its_page_in_a_real_browser() {
    let app = spawn_platform().await;
    let slug = app.slug("restore");
    run_browser(&app, &slug, "backups", None).await;
}
