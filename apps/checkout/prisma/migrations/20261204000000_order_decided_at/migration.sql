-- When an order's outcome was decided: the time Billing's verdict carries (its event's
-- occurredAt), or Checkout's own when Checkout decided (an order past its deadline, the
-- synchronous path). settled_at says when Checkout recorded it, which lags behind while Checkout
-- is busiest: the waiting line measures how fast Billing gets through the line by decided_at
-- (docs/patterns/load-levelling.md#the-waiting-room).
ALTER TABLE "order" ADD COLUMN decided_at TIMESTAMPTZ;
UPDATE "order" SET decided_at = settled_at WHERE settled_at IS NOT NULL;
