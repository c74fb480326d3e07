//! `control-api tenants backup` / `tenants restore`: the same jobs as the API's, followed to
//! the end with progress, and a non-zero exit when refused.

use super::{ticket, titles};
use platform_harness::{Platform, platform};

fn cli(p: &Platform, args: &[&str]) -> std::process::Output {
    crate::cli_run::control_api(p, args, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_backs_up_and_restores_with_progress_and_fails_loudly() {
    let p = platform().spawn().await;
    let t = p.tenant("clibk").await;
    ticket(&t, "first").await;

    let out = cli(&p, &["tenants", "backup", &t.slug]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The job runs in the CLI, or in the API's worker if it claims it first: either way the
    // CLI follows it to the end.
    assert!(
        stdout.contains("step: ") && stdout.contains("complete"),
        "{stdout}"
    );
    let list = p
        .root()
        .get(&format!("/v1/tenants/{}/backups", t.slug))
        .read()
        .await;
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["state"], "complete");

    ticket(&t, "second").await;
    let out = cli(&p, &["tenants", "restore", &t.slug, "--backup", &id]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("step: ") && stdout.contains("done"),
        "{stdout}"
    );
    p.wait_for_status(&t.slug, "active").await;
    assert_eq!(titles(&t).await, ["first"]);

    // A corrupted file: the CLI reports the refusal and exits non-zero.
    let path = p.names.backup_dir.join(format!("{id}.tbk"));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let out = cli(&p, &["tenants", "restore", &t.slug, "--backup", &id]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("keeps its current data"), "{said}");
    assert_eq!(titles(&t).await, ["first"]);
    let out = cli(&p, &["tenants", "backup", "no-such-tenant"]);
    assert!(!out.status.success());
}
