-- A read-only registry role for app-api: it only looks tenants up, so it needs CONNECT on
-- the control database, SELECT on `tenants` and on the address columns of `db_servers`
-- (never their sealed admin URLs), nothing else. Run once, as the control
-- database's owner (or a superuser), after control-api has started once (it makes the schema):
--   psql "$CONTROL_DATABASE_URL" -v ON_ERROR_STOP=1 -f scripts/sql/app-reader-role.sql
--   psql "$CONTROL_DATABASE_URL" -c '\password app_reader'
-- (`\password` sends a SCRAM verifier computed by psql, never the plaintext), then give
-- app-api CONTROL_DATABASE_URL=postgres://app_reader:...@host/<control db>.
-- `-v reader=name` picks another role name. control-api revokes CONNECT on the control
-- database from PUBLIC at every start, so tenant roles cannot connect; this role is granted
-- it by name.
\if :{?reader}
\else
    \set reader app_reader
\endif
CREATE ROLE :"reader" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'reader') \gexec
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON TABLE tenants TO :"reader";
-- Where each database server is reached; the admin URL column stays out of reach.
GRANT SELECT (name, host, port) ON TABLE db_servers TO :"reader";
-- Reads only, even if a wider grant is added by mistake later.
ALTER ROLE :"reader" SET default_transaction_read_only = on;
