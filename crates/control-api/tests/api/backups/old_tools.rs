//! A pg_dump older than the database server cannot read its catalogs: the backup job says
//! so in words (which versions, what to do) instead of pg_dump's own later failure. The
//! machine has only one PostgreSQL client, so an older one is stood in for by `PG_BIN_DIR`
//! programs that answer `--version` as a 14 would and fail anything else; the server,
//! the queue and the tenant are real.

use platform_harness::platform;
use std::os::unix::fs::PermissionsExt;

fn fake_client(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    for name in ["pg_dump", "pg_restore"] {
        let path = dir.join(name);
        let script = format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo '{name} (PostgreSQL) 14.11'; exit 0; }}\n\
             echo '{name} must not run past the version check' >&2\nexit 1\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_older_than_the_server_fails_the_backup_saying_which_versions() {
    let dir = std::env::temp_dir().join(format!("tt-pg14-{}", uuid::Uuid::new_v4().simple()));
    fake_client(&dir);
    let p = platform()
        .env("PG_BIN_DIR", &dir.display().to_string())
        .env("PROVISION_MAX_ATTEMPTS", "1")
        .spawn()
        .await;
    let t = p.tenant("oldtools").await;
    let res = p
        .root()
        .post(&format!("/v1/tenants/{}/backups", t.slug))
        .send()
        .await;
    assert_eq!(res.status(), 202);
    let body: serde_json::Value = res.json().await.unwrap();
    let job = body["job"]["id"].as_str().unwrap();
    let done = p
        .wait_for_job(job, |j| j["state"] != "queued" && j["state"] != "running")
        .await;
    assert_eq!(done["state"], "failed", "{done}");
    let error = done["last_error"].as_str().unwrap();
    assert!(
        error.contains("pg_dump is version 14 but the database server is")
            && error.contains("install the client of version"),
        "{error}"
    );
    assert!(!error.contains("must not run"), "{error}");
    let list = p
        .root()
        .get(&format!("/v1/tenants/{}/backups", t.slug))
        .read()
        .await;
    assert_eq!(list[0]["state"], "failed", "{list}");
    let _ = std::fs::remove_dir_all(&dir);
}
