-- Delivery bookkeeping for record-then-send (apps/email/README.md, docs/patterns/idempotent-side-effects.md).
-- A row is recorded as SENDING in the inbox transaction, claimed for a send attempt after commit,
-- and marked SENT once the SMTP server accepted it. last_attempt_at is the claim: a row attempted
-- less than EMAIL_RESEND_AFTER_MS ago belongs to whoever attempted it, so two instances (or the
-- handler and the resend sweep) never send it at the same time.
ALTER TYPE email_status ADD VALUE 'FAILED';

ALTER TABLE sent_email
  ADD COLUMN attempts        INTEGER     NOT NULL DEFAULT 0,
  ADD COLUMN last_attempt_at TIMESTAMPTZ,
  ADD COLUMN last_error      TEXT;

-- The resend sweep looks only at unsent rows, oldest first.
CREATE INDEX sent_email_sending_idx ON sent_email (created_at) WHERE status = 'SENDING';
