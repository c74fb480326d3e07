-- pgbouncer's password lookup, installed in the `postgres` database (and, for pgbouncer
-- 1.18, in each tenant database too: see README.md). Idempotent: run it as a superuser
-- as often as you like.
--
-- pgbouncer logs in as `pgbouncer_auth` and calls pgbouncer.user_lookup($1). The function
-- runs as its owner (a superuser) and returns one role's SCRAM secret, so pgbouncer_auth
-- itself is granted nothing on pg_authid/pg_shadow. Superusers and roles that cannot log
-- in, or whose password has expired (VALID UNTIL), are never returned: pgbouncer then
-- refuses the login.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgbouncer_auth') THEN
    -- LOGIN without a password here: the caller sets one (scripts/dev.sh picks a random one).
    CREATE ROLE pgbouncer_auth LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS pgbouncer;
REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;
GRANT USAGE ON SCHEMA pgbouncer TO pgbouncer_auth;

CREATE OR REPLACE FUNCTION pgbouncer.user_lookup(i_username text, OUT uname text, OUT phash text)
RETURNS record
LANGUAGE sql
STABLE
SECURITY DEFINER
-- A SECURITY DEFINER function must not resolve names through a caller-controlled path.
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT rolname::text, rolpassword::text
  FROM pg_catalog.pg_authid
  WHERE rolname = i_username
    AND rolcanlogin
    AND NOT rolsuper
    AND rolname <> 'pgbouncer_auth'
    AND (rolvaliduntil IS NULL OR rolvaliduntil > pg_catalog.now())
$$;

REVOKE ALL ON FUNCTION pgbouncer.user_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgbouncer.user_lookup(text) TO pgbouncer_auth;
