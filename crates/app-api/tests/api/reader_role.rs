//! app-api needs only read access to the registry: booted with the documented read-only
//! role (`scripts/sql/app-reader-role.sql`), it serves tenants; the role cannot write.

use platform_harness::{pg_admin_url, pg_connect, spawn_platform, with_database};
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_api_serves_tenants_with_a_read_only_registry_role() {
    let p = spawn_platform().await;
    let t = p.tenant("reader").await;
    let reader = format!("{}reader", p.names.tenant_prefix);
    let control_url = with_database(&pg_admin_url(), &p.names.control_db);
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sql/app-reader-role.sql");
    let out = Command::new("psql")
        .arg(&control_url)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-v"])
        .arg(format!("reader={reader}"))
        .arg("-f")
        .arg(&script)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut url = url::Url::parse(&control_url).unwrap();
    url.set_username(&reader).unwrap();
    let as_reader = pg_connect(url.as_str()).await.expect("the reader connects");
    let write = as_reader
        .execute("UPDATE tenants SET name = name", &[])
        .await;
    assert!(write.is_err(), "the reader role wrote to the registry");
    let sealed = as_reader
        .query("SELECT admin_url_sealed FROM db_servers", &[])
        .await;
    assert!(sealed.is_err(), "the reader role reads sealed admin URLs");

    let mut env = p.env.clone();
    env.insert("CONTROL_DATABASE_URL".into(), url.to_string());
    env.insert("APP_API_ADDR".into(), "127.0.0.1:0".into());
    let settings = app_api::settings::Settings::from_env(&env).expect("valid settings");
    let app = app_api::startup::Application::build(settings)
        .await
        .expect("app-api boots with the reader role");
    let running = app.start();
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/v1/tickets", running.port))
        .header("X-Tenant-Slug", &t.slug)
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "served through the read-only role");
    running.abort();
}
