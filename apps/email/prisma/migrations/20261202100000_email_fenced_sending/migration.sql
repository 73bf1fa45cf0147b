-- Fenced sending (apps/email/README.md, docs/patterns/idempotent-side-effects.md).
--
-- claim_token: written afresh by every claim; an attempt's outcome (SENT, FAILED, retry later,
-- PARKED) is recorded only WHERE claim_token still is the one its claim wrote. A claimant whose
-- lease ran out and was claimed again by another is fenced: what it reports changes nothing.
-- next_attempt_at: when the mail may be claimed again: the end of a claim's lease while it is
-- being sent (renewed while the send lasts), or the end of the backoff after a failed attempt.
-- PARKED: tried EMAIL_MAX_ATTEMPTS times without success; waits for a person to retry it
-- (POST /emails/:id/retry) or discard it.
-- State machine: SENDING -> SENT (pruned after EMAIL_SENT_RETENTION_DAYS) | FAILED | PARKED;
-- PARKED -> SENDING (retried, with a fresh set of attempts) | FAILED (discarded).
ALTER TYPE email_status ADD VALUE 'PARKED';

ALTER TABLE sent_email
  ADD COLUMN claim_token     UUID,
  ADD COLUMN next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ADD COLUMN parked_at       TIMESTAMPTZ;

-- A mail unsent at this migration keeps the lease its last attempt took under the previous
-- rules (EMAIL_RESEND_AFTER_MS, 60 s by default): an instance still sending it is not overtaken.
UPDATE sent_email SET next_attempt_at = coalesce(last_attempt_at, created_at) + interval '60 seconds' WHERE status = 'SENDING';

-- The sweep claims unsent mails in the order they fall due.
DROP INDEX sent_email_sending_idx;
CREATE INDEX sent_email_due_idx ON sent_email (next_attempt_at) WHERE status = 'SENDING';
-- The prune deletes sent mails oldest first.
CREATE INDEX sent_email_sent_idx ON sent_email (sent_at) WHERE status = 'SENT';
-- GET /emails?status=PARKED (or FAILED): the few mails that did not go out, newest first. The
-- predicate names the values it leaves out: a value added in this transaction cannot be used in it.
CREATE INDEX sent_email_unsent_idx ON sent_email (status, created_at) WHERE status NOT IN ('SENDING', 'SENT');
