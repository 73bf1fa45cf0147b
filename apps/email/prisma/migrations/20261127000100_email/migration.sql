CREATE TYPE email_status AS ENUM ('SENDING', 'SENT');

CREATE TABLE sent_email (
  id         UUID         PRIMARY KEY,
  event_id   UUID         NOT NULL UNIQUE,
  kind       TEXT         NOT NULL,
  "to"       TEXT         NOT NULL,
  subject    TEXT         NOT NULL,
  body       TEXT         NOT NULL,
  status     email_status NOT NULL DEFAULT 'SENDING',
  created_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
  sent_at    TIMESTAMPTZ
);
CREATE INDEX sent_email_to_idx ON sent_email ("to");
