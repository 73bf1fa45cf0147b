CREATE TABLE seat_inventory (
  concert_id  UUID        PRIMARY KEY,
  name        TEXT        NOT NULL,
  capacity    INTEGER     NOT NULL CHECK (capacity > 0),
  seats_sold  INTEGER     NOT NULL DEFAULT 0,
  price_cents INTEGER     NOT NULL CHECK (price_cents >= 0),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- The last line of defence against overselling, whatever the code above it does.
  CONSTRAINT seats_within_capacity CHECK (seats_sold BETWEEN 0 AND capacity)
);

CREATE TYPE charge_status AS ENUM ('CAPTURED', 'DECLINED', 'SEATS_UNAVAILABLE');

CREATE TABLE charge (
  id           UUID          PRIMARY KEY,
  order_id     UUID          NOT NULL UNIQUE,
  concert_id   UUID          NOT NULL,
  quantity     INTEGER       NOT NULL,
  amount_cents INTEGER       NOT NULL,
  status       charge_status NOT NULL,
  reason       TEXT,
  created_at   TIMESTAMPTZ   NOT NULL DEFAULT now()
);
