//! Neither a backup's data key nor the tenant's data reaches a response, a log line or the
//! file on disk in the clear.

use super::{backup, file_of, restore, ticket};
use base64::Engine as _;
use platform_harness::{LogCapture, platform};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_key_and_the_dump_never_reach_responses_or_logs() {
    let p = platform().spawn().await;
    let t = p.tenant("secret").await;
    let marker = format!("confidential-{}", uuid::Uuid::new_v4().simple());
    ticket(&t, &marker).await;
    let b = backup(&p, &t.slug).await;

    // The data key, opened the way the platform opens it.
    let id: uuid::Uuid = b["id"].as_str().unwrap().parse().unwrap();
    let row = p
        .pg(&p.names.control_db)
        .await
        .query_one(
            "SELECT data_key_sealed, data_key_version FROM backups WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let master = base64::engine::general_purpose::STANDARD
        .decode(&p.env["MASTER_KEY"])
        .unwrap();
    let ring = tenancy_core::crypto::Keyring::new(
        1,
        &secrecy::SecretBox::new(Box::new(master.try_into().unwrap())),
    );
    let sealed = tenancy_core::crypto::Sealed {
        bytes: row.get(0),
        key_version: row.get(1),
    };
    let key = ring
        .open_bytes(format!("backup:{id}").as_bytes(), &sealed)
        .unwrap();
    use secrecy::ExposeSecret;
    let key = key.expose_secret().clone();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&key);

    let job = restore(&p, &t.slug, b["id"].as_str().unwrap()).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let listed = p
        .root()
        .get(&format!("/v1/tenants/{}/backups", t.slug))
        .text()
        .await;
    let jobs = p
        .root()
        .get(&format!("/v1/tenants/{}/jobs", t.slug))
        .text()
        .await;
    let logs = LogCapture::global().contents();
    for (what, text) in [
        ("backup list", &listed),
        ("job list", &jobs),
        ("logs", &logs),
    ] {
        for secret in [&hex, &b64, &marker] {
            assert!(!text.contains(secret.as_str()), "{what} carries a secret");
        }
        assert!(!text.contains("data_key"), "{what} names the data key");
    }
    assert!(
        !std::fs::read(file_of(&p, &b))
            .unwrap()
            .windows(marker.len())
            .any(|w| w == marker.as_bytes())
    );
}
