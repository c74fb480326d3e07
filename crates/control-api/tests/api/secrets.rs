//! Secrets stay secret: not in responses, Redis or logs; ciphertexts are bound to a tenant.

use platform_harness::{LogCapture, spawn_control};
use tenancy_core::crypto::{CryptoError, Sealed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_password_and_db_credentials_never_reach_responses_redis_or_logs() {
    let app = spawn_control().await;
    let slug = app.slug("secretive");
    let password = format!("pw-{}-never-show", uuid::Uuid::new_v4().simple());

    let created = app
        .create_tenant(&slug, &password)
        .await
        .text()
        .await
        .unwrap();
    app.wait_for_status(&slug, "active").await;
    let mut bodies = vec![created];
    for path in [
        format!("/v1/tenants/{slug}"),
        "/v1/tenants".to_string(),
        format!("/v1/tenants/{slug}/jobs"),
    ] {
        bodies.push(app.root().get(&path).send().await.text().await.unwrap());
    }
    for body in &bodies {
        assert!(!body.contains(&password), "password in a response: {body}");
        assert!(
            !body.to_lowercase().contains("password"),
            "a password field in a response: {body}"
        );
        assert!(!body.contains("argon2"), "a hash in a response: {body}");
        assert!(
            !body.contains("sealed"),
            "sealed credentials in a response: {body}"
        );
    }

    // What the platform wrote to Redis for this test: ids only.
    let redis = platform_harness::redis_dump(&app.names.redis_prefix)
        .await
        .unwrap();
    assert!(!redis.is_empty(), "the job went through Redis");
    let all: String = redis.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
    assert!(!all.contains(&password), "password in Redis");
    assert!(!all.contains("argon2"), "a hash in Redis");
    assert!(
        !all.contains("admin_email") && !all.contains(&format!("owner@{slug}")),
        "seed data in Redis"
    );

    // The tenant role's password, decrypted, appears nowhere in the logs; nor the admin's.
    let ctl = app.pg(&app.names.control_db).await;
    let row = ctl
        .query_one(
            "SELECT id, db_key_version, db_password_sealed FROM tenants WHERE slug = $1",
            &[&slug],
        )
        .await
        .unwrap();
    let db_password = app
        .control_state()
        .settings
        .keyring
        .open(
            row.get(0),
            &Sealed {
                key_version: row.get(1),
                bytes: row.get(2),
            },
        )
        .unwrap();
    let logs = LogCapture::global().contents();
    assert!(logs.contains(&slug), "the capture sees this test's logs");
    assert!(!logs.contains(&password), "admin password in logs");
    assert!(
        !logs.contains(secrecy::ExposeSecret::expose_secret(&db_password)),
        "tenant DB password in logs"
    );
    assert!(!logs.contains("$argon2"), "a password hash in logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ciphertext_copied_onto_another_tenant_fails_to_decrypt() {
    let app = spawn_control().await;
    let (a, b) = (app.slug("one"), app.slug("two"));
    app.active_tenant(&a).await;
    app.active_tenant(&b).await;
    let ctl = app.pg(&app.names.control_db).await;
    // Swap the stored ciphertexts between the two rows, as an attacker with DB access might.
    ctl.batch_execute(&format!(
        "UPDATE tenants t SET db_password_sealed = o.db_password_sealed
         FROM tenants o WHERE t.slug IN ('{a}', '{b}') AND o.slug IN ('{a}', '{b}') AND o.slug <> t.slug"
    ))
    .await
    .unwrap();
    let rows = ctl
        .query(
            "SELECT id, db_key_version, db_password_sealed FROM tenants WHERE slug = ANY($1)",
            &[&vec![a, b]],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let sealed = Sealed {
            key_version: row.get(1),
            bytes: row.get(2),
        };
        let opened = app
            .control_state()
            .settings
            .keyring
            .open(row.get(0), &sealed);
        assert_eq!(opened.err(), Some(CryptoError::Rejected));
    }
}
