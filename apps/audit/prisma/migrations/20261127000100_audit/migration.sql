CREATE TABLE audit_log (
  position     BIGSERIAL   PRIMARY KEY,
  event_id     UUID        NOT NULL UNIQUE,
  type         TEXT        NOT NULL,
  topic        TEXT        NOT NULL,
  actor        TEXT,
  ip           TEXT,
  occurred_at  TIMESTAMPTZ NOT NULL,
  recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  payload_hash TEXT        NOT NULL
);
CREATE INDEX audit_log_type_occurred_at_idx ON audit_log (type, occurred_at);
CREATE INDEX audit_log_actor_occurred_at_idx ON audit_log (actor, occurred_at);

-- Append-only, enforced by the database itself: no code path, and no mistaken one, can rewrite
-- history. TRUNCATE is refused too.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
