//! Least privilege on the registry: a tenant's role cannot even connect to the control
//! database, which holds every tenant's sealed credentials.

use platform_harness::{pg_admin_url, pg_connect, spawn_control, with_database};
use url::Url;

/// The shared server's URL as `role`, on `db` (local connections use trust auth, so only
/// privileges decide).
fn as_role(role: &str, db: &str) -> String {
    let mut url = Url::parse(&with_database(&pg_admin_url(), db)).unwrap();
    url.set_username(role).unwrap();
    url.set_password(None).unwrap();
    url.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_role_cannot_connect_to_the_control_database() {
    let p = spawn_control().await;
    let slug = p.slug("least");
    assert_eq!(
        p.create_tenant(&slug, "admin-password-1").await.status(),
        202
    );
    p.wait_for_status(&slug, "active").await;
    let registry = p.pg(&p.names.control_db).await;
    let row = registry
        .query_one(
            "SELECT db_role, db_name FROM tenants WHERE slug = $1",
            &[&slug],
        )
        .await
        .unwrap();
    let (role, db): (String, String) = (row.get(0), row.get(1));

    // Sent as a verifier computed by control-api (the unit test in `provisioner` shows the
    // SQL carries no plaintext); what the server keeps is that SCRAM verifier.
    let stored: Option<String> = p
        .pg("postgres")
        .await
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&role],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        stored
            .as_deref()
            .is_some_and(|v| v.starts_with("SCRAM-SHA-256$4096:")),
        "the role's password is a SCRAM verifier"
    );

    let own = pg_connect(&as_role(&role, &db)).await;
    assert!(
        own.is_ok(),
        "the role reaches its own database: {:?}",
        own.err()
    );
    let refused = pg_connect(&as_role(&role, &p.names.control_db)).await;
    let Err(refused) = refused else {
        panic!("the control database let the tenant role in");
    };
    let err = format!("{refused:#}");
    assert!(err.contains("permission denied"), "{err}");
}
