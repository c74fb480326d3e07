//! Direct access to the shared PostgreSQL and Redis, behind the services' backs: what a
//! test inspects or breaks on purpose.

use tokio_postgres::NoTls;

/// Connects with tokio-postgres and drives the connection in the background.
pub async fn pg_connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Every Redis key containing `prefix`, with its value rendered as text (any type).
pub async fn redis_dump(prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
    let client = redis::Client::open(crate::env::redis_url())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{prefix}*"))
        .query_async(&mut conn)
        .await?;
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await?;
        let (read, extra): (&str, &[&str]) = match kind.as_str() {
            "string" => ("GET", &[]),
            "hash" => ("HGETALL", &[]),
            "list" => ("LRANGE", &["0", "-1"]),
            "set" => ("SMEMBERS", &[]),
            "zset" => ("ZRANGE", &["0", "-1", "WITHSCORES"]),
            "stream" => ("XRANGE", &["-", "+"]),
            _ => {
                out.push((key, render(&redis::Value::Nil)));
                continue;
            }
        };
        let mut cmd = redis::cmd(read);
        cmd.arg(&key);
        for arg in extra {
            cmd.arg(*arg);
        }
        let value: redis::Value = cmd.query_async(&mut conn).await?;
        out.push((key, render(&value)));
    }
    Ok(out)
}

fn render(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::SimpleString(s) => s.clone(),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().map(render).collect::<Vec<_>>().join("\n")
        }
        redis::Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| format!("{}={}", render(k), render(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("{other:?}"),
    }
}
