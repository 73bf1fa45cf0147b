-- Erasure on request: the personal fields of an entry (actor, ip) may be set to NULL, and
-- nothing else about it may change. The append-only guard lets exactly that UPDATE through; the
-- hash chain covers a hash of those fields (personal_hash), so it stays intact. Every other
-- UPDATE, every DELETE and TRUNCATE is refused as before.
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.actor IS NULL AND NEW.ip IS NULL
     AND (OLD.actor IS NOT NULL OR OLD.ip IS NOT NULL)
     AND (NEW.position, NEW.event_id, NEW.type, NEW.topic, NEW.occurred_at, NEW.recorded_at, NEW.payload_hash,
          NEW.personal_hash, NEW.prev_hash, NEW.entry_hash)
         IS NOT DISTINCT FROM
         (OLD.position, OLD.event_id, OLD.type, OLD.topic, OLD.occurred_at, OLD.recorded_at, OLD.payload_hash,
          OLD.personal_hash, OLD.prev_hash, OLD.entry_hash)
  THEN
    RETURN NEW; -- an erasure
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
