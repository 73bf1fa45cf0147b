-- A charge has a deadline (ChargeOrder's chargeBy): past it Billing declines it, and a capture
-- that reached a timed-out order anyway is given back (docs/patterns/eventual-consistency.md).
ALTER TYPE charge_status ADD VALUE 'TIMED_OUT';
ALTER TYPE charge_status ADD VALUE 'REFUNDED';

-- A ChargeOrder whose concert is not in the seat inventory yet waits here, not in retries that
-- run out: ConcertScheduled puts it back on the work queue, its charge-by passing declines it.
CREATE TABLE waiting_charge (
  order_id   UUID        PRIMARY KEY,
  concert_id UUID        NOT NULL,
  charge_by  TIMESTAMPTZ NOT NULL,
  command    JSONB       NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX waiting_charge_concert_id_idx ON waiting_charge (concert_id);
CREATE INDEX waiting_charge_charge_by_idx ON waiting_charge (charge_by);

-- Every payment asked of the provider, until the provider has done what Billing decided for it.
-- State machine (PaymentHoldLedger):
--   AUTHORIZING -> HELD | DECLINED            the provider's answer
--   HELD -> TO_CAPTURE | TO_VOID              a charge took it, or did not need it (or nothing took it in time)
--   DECLINED -> (deleted)                     its charge read the decline
--   TO_CAPTURE -> TO_VOID                     refunded before it was captured
--   TO_CAPTURE | TO_VOID | TO_REFUND -> (deleted, once the provider did it)
-- A row is written before the provider is asked, so no hold it grants can be forgotten.
CREATE TYPE payment_hold_status AS ENUM ('AUTHORIZING', 'HELD', 'DECLINED', 'TO_CAPTURE', 'TO_VOID', 'TO_REFUND');
CREATE TABLE payment_hold (
  payment_id     UUID                PRIMARY KEY,
  order_id       UUID                NOT NULL,
  amount_cents   INTEGER             NOT NULL,
  status         payment_hold_status NOT NULL DEFAULT 'AUTHORIZING',
  decline_reason TEXT,
  updated_at     TIMESTAMPTZ         NOT NULL
);
CREATE INDEX payment_hold_order_id_idx ON payment_hold (order_id);
CREATE INDEX payment_hold_status_updated_at_idx ON payment_hold (status, updated_at);
