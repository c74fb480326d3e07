//! Which tenant a request is for, and whether it may be served.

use platform_harness::{assert_problem, spawn_platform};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_is_resolved_from_header_or_subdomain_and_refused_when_it_cannot_be_served() {
    let p = spawn_platform().await;
    let t = p.tenant("resolve").await;
    let get = |host: Option<String>, header: Option<&str>| {
        let mut req = p.app().as_user(&t.admin_token).get("/v1/users/me");
        if let Some(h) = host {
            req = req.header("host", &h);
        }
        if let Some(s) = header {
            req = req.header("x-tenant-slug", s);
        }
        req.send()
    };
    // Header, subdomain, both agreeing.
    assert_eq!(get(None, Some(&t.slug)).await.status(), 200);
    assert_eq!(
        get(Some(format!("{}.helpdesk.test", t.slug)), None)
            .await
            .status(),
        200
    );
    assert_eq!(
        get(
            Some(format!("{}.helpdesk.test:3000", t.slug)),
            Some(&t.slug)
        )
        .await
        .status(),
        200
    );
    // Both, disagreeing; neither.
    assert_problem(
        get(Some("other-one.helpdesk.test".into()), Some(&t.slug)).await,
        400,
        "ambiguous_tenant",
    )
    .await;
    assert_problem(get(None, None).await, 400, "tenant_required").await;
    assert_problem(
        get(Some("helpdesk.test".into()), None).await,
        400,
        "tenant_required",
    )
    .await;
    // Malformed, reserved, unknown.
    for bad in [
        "Bad_Slug",
        "-x-",
        "ab",
        "admin",
        "metrics",
        "a'; DROP TABLE tenants; --",
    ] {
        assert_problem(get(None, Some(bad)).await, 400, "invalid_tenant_slug").await;
    }
    assert_problem(
        get(Some("www.helpdesk.test".into()), None).await,
        400,
        "invalid_tenant_slug",
    )
    .await;
    let unknown = p.slug("nobody");
    assert_problem(get(None, Some(&unknown)).await, 404, "tenant_not_found").await;
    // Twice: the second answer comes from the negative cache, the same way.
    assert_problem(get(None, Some(&unknown)).await, 404, "tenant_not_found").await;

    // A tenant still provisioning: 503 with Retry-After.
    let ctl = p.pg(&p.names.control_db).await;
    let pending = p.slug("pending");
    ctl.execute(
        "INSERT INTO tenants (id, slug, name, status, db_name, db_role) VALUES (gen_random_uuid(), $1, 'P', 'provisioning', $2, $2)",
        &[&pending, &format!("{}pending", p.names.tenant_prefix)],
    )
    .await
    .unwrap();
    let res = get(None, Some(&pending)).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 503, "tenant_provisioning").await;

    // Suspended: refused on this replica within 5 seconds of the control-plane call.
    let suspended_at = Instant::now();
    assert_eq!(
        p.root()
            .post(&format!("/v1/tenants/{}/suspend", t.slug))
            .send()
            .await
            .status(),
        200
    );
    loop {
        let res = get(None, Some(&t.slug)).await;
        if res.status() == 403 {
            assert_problem(res, 403, "tenant_inactive").await;
            break;
        }
        assert!(
            suspended_at.elapsed() < Duration::from_secs(5),
            "suspension not seen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Its pool was closed: no connection of its role is left.
    let deadline = Instant::now() + Duration::from_secs(5);
    while p.tenant_connections().await > 0 {
        assert!(
            Instant::now() < deadline,
            "suspended tenant's connections not closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Activated again: served again.
    assert_eq!(
        p.root()
            .post(&format!("/v1/tenants/{}/activate", t.slug))
            .send()
            .await
            .status(),
        200
    );
    let reactivated = Instant::now();
    while get(None, Some(&t.slug)).await.status() != 200 {
        assert!(
            reactivated.elapsed() < Duration::from_secs(5),
            "activation not seen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Soft-deleted: inactive.
    p.root()
        .delete(&format!("/v1/tenants/{}", t.slug))
        .send()
        .await;
    let deleted = Instant::now();
    while get(None, Some(&t.slug)).await.status() != 403 {
        assert!(
            deleted.elapsed() < Duration::from_secs(5),
            "deletion not seen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
