//! The server registry's changes: `server.add` and `server.update` (a drain, a capacity),
//! from the API (the admin, the request's id and address) and the CLI (`cli`, no request),
//! with the changed fields before and after; never the admin URL or its password; a change
//! that changes nothing leaves no entry.

use super::{behind_proxy, by_request, cli, entries, expect, send};
use platform_harness::{PgServer, ROOT_EMAIL};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_draining_and_resizing_a_server_is_recorded_from_the_api_and_the_cli() {
    let app = behind_proxy().spawn().await;
    let secret = format!("pw-{}-audit", uuid::Uuid::new_v4().simple());
    let second = PgServer::start_with_password(&secret).await;
    let body = json!({"name": "second", "host": "127.0.0.1", "port": second.port(),
                      "admin_url": second.admin_url(), "capacity": 4});
    let add = send(&app, "POST", "/v1/servers", "rid-server-add").json(&body);
    expect(add, 201).await;
    let resize = send(&app, "PATCH", "/v1/servers/second", "rid-server-resize")
        .json(&json!({"capacity": 9}));
    expect(resize, 200).await;
    let again = send(&app, "PATCH", "/v1/servers/second", "rid-server-same")
        .json(&json!({"capacity": 9, "state": "accepting"}));
    expect(again, 200).await;
    let port = second.port().to_string();
    let args = [
        "servers",
        "add",
        "third",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--admin-url-stdin",
    ];
    let out = cli(&app, &args, &format!("{}\n", second.admin_url()));
    assert!(out.status.success(), "{out:?}");
    let out = cli(&app, &["servers", "drain", "second"], "");
    assert!(out.status.success(), "{out:?}");

    let all = entries(&app, "").await;
    let servers: Vec<&Value> = all
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("server."))
        .collect();
    assert_eq!(
        servers.len(),
        4,
        "nothing for the no-op PATCH: {servers:#?}"
    );
    for (rid, action) in [
        ("rid-server-add", "server.add"),
        ("rid-server-resize", "server.update"),
    ] {
        let e = by_request(&all, rid, action);
        assert_eq!(e["actor"], ROOT_EMAIL, "{e}");
        assert_eq!(e["client_addr"], "127.0.0.1", "{e}");
        assert_eq!(e["tenant_id"], Value::Null, "{e}");
    }
    assert_eq!(
        by_request(&all, "rid-server-add", "server.add")["changes"],
        json!({"after": {"server": "second", "host": "127.0.0.1", "port": second.port(),
                         "state": "accepting", "capacity": 4}})
    );
    assert_eq!(
        by_request(&all, "rid-server-resize", "server.update")["changes"],
        json!({"before": {"capacity": 4}, "after": {"capacity": 9}, "server": "second"}),
        "only the fields that changed"
    );

    // The CLI's: newest first, the drain then the add, without a request.
    let by_cli: Vec<&&Value> = servers.iter().filter(|e| e["actor"] == "cli").collect();
    assert_eq!(by_cli.len(), 2, "{servers:#?}");
    for e in &by_cli {
        assert_eq!(
            (&e["request_id"], &e["client_addr"]),
            (&Value::Null, &Value::Null),
            "{e}"
        );
    }
    assert_eq!(by_cli[0]["action"], "server.update");
    assert_eq!(
        by_cli[0]["changes"],
        json!({"before": {"state": "accepting"}, "after": {"state": "draining"}, "server": "second"})
    );
    assert_eq!(by_cli[1]["action"], "server.add");
    assert_eq!(by_cli[1]["changes"]["after"]["server"], "third");
    assert_eq!(by_cli[1]["changes"]["after"]["capacity"], 1000);

    let text = serde_json::to_string(&all).unwrap();
    assert!(
        !text.contains(&secret),
        "the admin URL's password in {text}"
    );
    assert!(
        !text.contains("postgres://") && !text.contains("admin_url"),
        "{text}"
    );
}
