-- A message the broker refuses must not hold up the rest, nor be retried for ever: the relay tries
-- it again on its own, after a delay that doubles per refusal, and after the last attempt parks it
-- out of the way, for a person to retry or discard (npm run dlq -- outbox). Each service's
-- migration 20261202000000_outbox_parking is a copy.
-- State machine: pending -> published -> (pruned); pending -> parked -> pending (retried) or deleted.
ALTER TABLE outbox_message DROP CONSTRAINT outbox_message_status_check;
ALTER TABLE outbox_message ADD CONSTRAINT outbox_message_status_check CHECK (status IN ('pending', 'published', 'parked'));
-- `attempts` now counts the broker's refusals of this message; a publish that failed as a whole
-- (the broker away) counts nothing. A refused message is claimed again only from next_attempt_at.
ALTER TABLE outbox_message ADD COLUMN next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity';
ALTER TABLE outbox_message ADD COLUMN parked_at TIMESTAMPTZ;
CREATE INDEX outbox_message_parked_idx ON outbox_message (position) WHERE status = 'parked';
