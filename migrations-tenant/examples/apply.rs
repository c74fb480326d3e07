//! Applies the tenant migrations to a throwaway database and checks that they
//! roll back and re-apply cleanly and that seeding is idempotent.
//!
//! ```text
//! cargo run -p migrations-tenant --example apply -- postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! The URL names any database on the server; the example creates
//! `mt_scratch_<random>` beside it and always drops it again.

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use migrations_tenant::{Migrator, seed_admin};
use sea_orm_migration::MigratorTrait;
use sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement,
};

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server_url = std::env::args()
        .nth(1)
        .ok_or("usage: apply <postgres url of an existing database>")?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
    let scratch = format!("mt_scratch_{}_{nanos}", std::process::id());

    let admin = Database::connect(&server_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {scratch}"))
        .await?;
    println!("created {scratch}");

    let outcome = exercise(&with_database(&server_url, &scratch)).await;

    // Drop even when a check failed, so a failed run leaves nothing behind.
    let dropped = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        .await;
    admin.close().await?;
    outcome?;
    dropped?;
    println!("dropped {scratch}; all checks passed");
    Ok(())
}

/// Runs up, down, up, then seeds twice and checks the result.
async fn exercise(url: &str) -> Result<(), BoxError> {
    let db = Database::connect(url).await?;
    let result = async {
        Migrator::up(&db, None).await?;
        Migrator::down(&db, None).await?;
        let left = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'";
        ensure(count(&db, left).await? == 0, "down left tables behind")?;
        Migrator::up(&db, None).await?;
        println!("migrations: up, down, up ok");

        seed_admin(&db, "Admin@Example.com", "First Admin", "$argon2id$fake").await?;
        seed_admin(&db, "admin@example.com", "First Admin", "$argon2id$fake").await?;
        let admins = count(&db, "SELECT count(*) FROM users WHERE role = 'admin'").await?;
        ensure(admins == 1, "seeding twice did not leave exactly one admin")?;
        println!("seed_admin twice: one admin");

        // The constraints the API relies on actually reject bad rows.
        let bad_role = "INSERT INTO users (email, name, role, password_hash) VALUES ('x@y.z', 'x', 'root', 'h')";
        ensure(db.execute_unprepared(bad_role).await.is_err(), "role check missing")?;
        let empty_title = "INSERT INTO tickets (title, description, requester_id) SELECT '', 'd', id FROM users LIMIT 1";
        ensure(db.execute_unprepared(empty_title).await.is_err(), "title check missing")?;
        db.execute_unprepared(
            "WITH t AS (INSERT INTO tickets (title, description, requester_id) SELECT 't', 'd', id FROM users LIMIT 1 RETURNING id, requester_id)
             INSERT INTO comments (ticket_id, author_id, body) SELECT id, requester_id, 'hi' FROM t",
        )
        .await?;
        db.execute_unprepared("DELETE FROM tickets").await?;
        ensure(count(&db, "SELECT count(*) FROM comments").await? == 0, "cascade missing")?;
        println!("constraints and cascade ok");
        Ok::<(), BoxError>(())
    }
    .await;
    db.close().await?;
    result
}

/// Fails the run with `what` instead of panicking, so `main` still drops the database.
fn ensure(ok: bool, what: &str) -> Result<(), BoxError> {
    if ok { Ok(()) } else { Err(what.into()) }
}

async fn count(db: &DatabaseConnection, sql: &str) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("no row from {sql}")))?;
    row.try_get_by_index(0)
}

/// Swaps the database name in a `postgres://…/name?params` URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}
