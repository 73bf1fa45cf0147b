-- One database per service, each owned by a role of the same name (password = name; local
-- development only). A service can reach its own data and nobody else's, which keeps the
-- "database per service" boundary honest even on one shared server.
--
-- The postgres image runs this once, on the first start with an empty volume
-- (/docker-entrypoint-initdb.d). It is idempotent, so it also sets up a native PostgreSQL:
--   psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -f docker/postgres/init.sql

DO $$
DECLARE
  service text;
BEGIN
  FOREACH service IN ARRAY ARRAY['checkout', 'billing', 'email', 'analytics', 'audit'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = service) THEN
      EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', service, service);
    END IF;
  END LOOP;
  -- Audit runs as a writer that owns nothing (its role `audit` migrates and owns the tables), so
  -- that the service cannot switch off the log's append-only guard; Audit grants it the rows at
  -- start (libs/database's runtime-role.ts). The owner may not create roles, so it is made here.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'audit_writer') THEN
    CREATE ROLE audit_writer LOGIN PASSWORD 'audit_writer';
  END IF;
END
$$;

-- CREATE DATABASE cannot run inside a DO block (it refuses to run in a transaction), so this
-- query writes the statements and psql's \gexec runs each one on its own.
SELECT format('CREATE DATABASE %I OWNER %I', 'boxoffice_' || service, service)
FROM unnest(ARRAY['checkout', 'billing', 'email', 'analytics', 'audit']) AS service
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'boxoffice_' || service)
\gexec
