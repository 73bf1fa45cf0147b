CREATE TABLE concert (
  id          UUID        PRIMARY KEY,
  name        TEXT        NOT NULL,
  starts_at   TIMESTAMPTZ NOT NULL,
  capacity    INTEGER     NOT NULL CHECK (capacity > 0),
  price_cents INTEGER     NOT NULL CHECK (price_cents >= 0),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TYPE order_status AS ENUM ('PENDING', 'CONFIRMED', 'REJECTED');
CREATE TYPE rejection_reason AS ENUM ('SOLD_OUT', 'PAYMENT_DECLINED');

CREATE TABLE "order" (
  id               UUID             PRIMARY KEY,
  concert_id       UUID             NOT NULL REFERENCES concert (id),
  quantity         INTEGER          NOT NULL CHECK (quantity BETWEEN 1 AND 6),
  customer_email   TEXT             NOT NULL,
  amount_cents     INTEGER          NOT NULL,
  status           order_status     NOT NULL DEFAULT 'PENDING',
  rejection_reason rejection_reason,
  idempotency_key  TEXT             NOT NULL UNIQUE,
  request_hash     TEXT             NOT NULL,
  created_at       TIMESTAMPTZ      NOT NULL DEFAULT now(),
  updated_at       TIMESTAMPTZ      NOT NULL DEFAULT now(),
  settled_at       TIMESTAMPTZ
);
CREATE INDEX order_status_idx ON "order" (status);

CREATE TABLE "user" (
  id         UUID        PRIMARY KEY,
  email      TEXT        NOT NULL UNIQUE,
  name       TEXT        NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
