//! A real `control-api worker` process killed with SIGKILL while it provisions, round after
//! round at varying points: nothing in the process gets to clean up, so only the lease in the
//! control database and the idempotent steps can save the jobs it held. Every tenant must end
//! `active` with one database, one role and one admin.

use platform_harness::{Env, Platform, control_plane, wait_until};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ROUNDS: u64 = 6;
const PER_ROUND: usize = 2;

pub(crate) fn start_worker(env: &Env) -> Child {
    Command::new(env!("CARGO_BIN_EXE_control-api"))
        .arg("worker")
        .envs(env)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("control-api worker starts")
}

async fn job(p: &Platform, id: &str) -> Value {
    p.root().get(&format!("/v1/jobs/{id}")).read().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_killed_mid_job_round_after_round_loses_no_tenant() {
    // The API alone: every job runs in the worker processes this test starts and kills.
    let p = control_plane().without_worker().spawn().await;
    let mut tenants: Vec<(String, String)> = Vec::new();

    for round in 0..ROUNDS {
        for i in 0..PER_ROUND {
            let slug = p.slug(&format!("kill{round}x{i}"));
            let created: Value = p
                .create_tenant(&slug, "kill-admin-pw")
                .await
                .json()
                .await
                .unwrap();
            let id = created["job"]["id"].as_str().expect("a job").to_string();
            tenants.push((slug, id));
        }
        let mut worker = start_worker(&p.env);
        // Wait until this process holds a job, then kill it a little later each round, so
        // the kills land at different steps.
        let ids: Vec<String> = tenants.iter().map(|(_, id)| id.clone()).collect();
        wait_until(
            "the worker claiming a job",
            Duration::from_secs(60),
            Duration::from_millis(10),
            || {
                let (p, ids) = (&p, ids.clone());
                async move {
                    for id in &ids {
                        if job(p, id).await["state"] == "running" {
                            return Ok(());
                        }
                    }
                    Err("no job running".to_string())
                }
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(40 * round)).await;
        worker.kill().expect("SIGKILL delivered");
        worker.wait().expect("worker reaped");
    }

    // A last worker finishes what the killed ones held once their leases expire.
    let mut last = start_worker(&p.env);
    let mut taken_over = 0;
    for (slug, id) in &tenants {
        p.wait_for_status(slug, "active").await;
        let j = job(&p, id).await;
        assert_eq!(j["state"], "succeeded", "{slug}: {j}");
        if j["attempts"].as_i64().unwrap_or(0) > 1 {
            taken_over += 1;
        }
    }
    last.kill().ok();
    last.wait().ok();
    assert!(
        taken_over > 0,
        "no job was interrupted mid-run: the kills proved nothing"
    );

    let (dbs, roles) = p.tenant_databases_and_roles().await;
    assert_eq!((dbs, roles), (tenants.len() as i64, tenants.len() as i64));
    for (slug, _) in &tenants {
        let t = p.root().get(&format!("/v1/tenants/{slug}")).read().await;
        let users: i64 = p
            .pg(t["db_name"].as_str().unwrap())
            .await
            .query_one("SELECT count(*) FROM users", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(users, 1, "{slug}: one admin");
    }
}

/// A job that takes its worker down with it every time must not be claimed forever: a kill
/// spends an attempt like a failure, and once `PROVISION_MAX_ATTEMPTS` (3 here) attempts
/// died, the next worker fails the job and the tenant instead of trying a fourth time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_dies_every_attempt_fails_after_its_attempts() {
    let p = control_plane().without_worker().spawn().await;
    let slug = p.slug("killall");
    let created: Value = p
        .create_tenant(&slug, "kill-admin-pw")
        .await
        .json()
        .await
        .unwrap();
    let (job_id, tenant_id) = (
        created["job"]["id"].as_str().unwrap().to_string(),
        created["id"].as_str().unwrap().to_string(),
    );

    // The test holds the tenant's job lock, so every attempt waits on it (claimed,
    // `running`) until its worker is killed: the kill always lands mid-job.
    let mut control = p.pg(&p.names.control_db).await;
    let lock = control.transaction().await.unwrap();
    lock.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('tenant-job:' || $1::text, 0))",
        &[&tenant_id],
    )
    .await
    .unwrap();
    for attempt in 1..=3 {
        let mut worker = start_worker(&p.env);
        wait_until(
            "the worker claiming the job",
            Duration::from_secs(60),
            Duration::from_millis(10),
            || {
                let (p, id) = (&p, job_id.clone());
                async move {
                    let j = job(p, &id).await;
                    if j["state"] == "running" && j["attempts"] == attempt {
                        Ok(())
                    } else {
                        Err(format!("job: {j}"))
                    }
                }
            },
        )
        .await;
        worker.kill().expect("SIGKILL delivered");
        worker.wait().expect("worker reaped");
    }
    // Nothing stops a fourth attempt now but the limit.
    lock.rollback().await.unwrap();

    let mut last = start_worker(&p.env);
    let tenant = p.wait_for_status(&slug, "failed").await;
    let j = job(&p, &job_id).await;
    last.kill().ok();
    last.wait().ok();
    assert_eq!(j["state"], "failed", "{j}");
    assert_eq!(j["attempts"], 3, "no attempt beyond the limit: {j}");
    assert!(
        j["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("no attempts left"),
        "{j}"
    );
    assert_eq!(tenant["status"], "failed");
}
