-- The messaging tables every service has in its own database. Each service's first migration
-- carries a copy of this file (migrations are immutable snapshots); a test keeps them in step.

-- Transactional outbox: written in the same transaction as the business change that causes the
-- message; the relay publishes it after commit. State machine: pending -> published -> (pruned).
CREATE TABLE outbox_message (
  position      BIGSERIAL   PRIMARY KEY,
  id            UUID        NOT NULL UNIQUE,
  type          TEXT        NOT NULL,
  destination   JSONB       NOT NULL,
  partition_key TEXT        NOT NULL,
  envelope      JSONB       NOT NULL,
  headers       JSONB,
  status        TEXT        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published')),
  created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
  published_at  TIMESTAMPTZ,
  attempts      INTEGER     NOT NULL DEFAULT 0,
  last_error    TEXT
);
CREATE INDEX outbox_message_pending_idx ON outbox_message (position) WHERE status = 'pending';
-- For the relay's check that no earlier message of the same key is still waiting.
CREATE INDEX outbox_message_pending_key_idx ON outbox_message (partition_key, position) WHERE status = 'pending';
CREATE INDEX outbox_message_published_idx ON outbox_message (published_at) WHERE status = 'published';

-- NOTIFY is delivered only when the inserting transaction commits, which is exactly when the
-- relay may publish: it wakes at once instead of waiting for its next poll.
CREATE FUNCTION outbox_message_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_message', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_message_notify AFTER INSERT ON outbox_message
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_message_notify();

-- Inbox: one row per message a consumer has processed, inserted in the same transaction as the
-- handler's work. A second delivery of the same message finds its row and changes nothing.
CREATE TABLE inbox_message (
  consumer     TEXT        NOT NULL,
  message_id   UUID        NOT NULL,
  type         TEXT        NOT NULL,
  received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_message_received_at_idx ON inbox_message (received_at);
