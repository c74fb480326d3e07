//! The database-server registry's routes: `GET|POST /v1/servers`,
//! `GET|PATCH /v1/servers/{name}`. The admin URL goes in (sealed at once) and never out.

pub mod create;
pub mod read;
pub mod update;
