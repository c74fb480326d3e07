//! Text PostgreSQL cannot store (a NUL byte) is refused at the edge for every text field of
//! the control plane: a 422 naming the field, nothing registered, and no ERROR line for it.

use platform_harness::{LogCapture, assert_field_refused, assert_problem, spawn_control};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_any_text_field_is_a_422_naming_it_and_registers_nothing() {
    let p = spawn_control().await;
    let slug = p.slug("nul");
    let good = json!({
        "slug": slug, "name": "Nul Corp", "plan": "free",
        "admin_email": format!("owner@{slug}.test"), "admin_password": "admin-password-1",
    });
    let mut request_ids = Vec::new();
    for field in ["name", "admin_email", "admin_password"] {
        let mut body = good.clone();
        body[field] = json!(format!("{}\u{0}x", body[field].as_str().unwrap()));
        let res = p.root().post("/v1/tenants").json(&body).send().await;
        request_ids.push(assert_field_refused(res, field).await);
    }
    let res = p.root().get(&format!("/v1/tenants/{slug}")).send().await;
    assert_problem(res, 404, "tenant_not_found").await;

    let kept = p.slug("nul-kept");
    assert_eq!(
        p.create_tenant(&kept, "admin-password-1").await.status(),
        202
    );
    let res = p
        .root()
        .patch(&format!("/v1/tenants/{kept}"))
        .json(&json!({"name": "Re\u{0}named"}))
        .send()
        .await;
    request_ids.push(assert_field_refused(res, "name").await);
    let tenant: Value = p.root().get(&format!("/v1/tenants/{kept}")).read().await;
    assert_eq!(tenant["name"], format!("Tenant {kept}"), "{tenant}");

    // No token needed to reach these.
    for (field, body) in [
        (
            "email",
            json!({"email": "root\u{0}@platform.test", "password": "whatever-123"}),
        ),
        (
            "password",
            json!({"email": "root@platform.test", "password": "what\u{0}ever"}),
        ),
    ] {
        let res = p.control().post("/v1/auth/login").json(&body).send().await;
        request_ids.push(assert_field_refused(res, field).await);
    }

    assert!(
        !request_ids.iter().any(String::is_empty),
        "every answer has a request id"
    );
    let logs = LogCapture::global().contents();
    for id in &request_ids {
        let errors: Vec<_> = logs
            .lines()
            .filter(|l| l.contains(id.as_str()) && l.contains("ERROR"))
            .collect();
        assert!(
            errors.is_empty(),
            "request {id} logged an ERROR: {errors:?}"
        );
    }
}
