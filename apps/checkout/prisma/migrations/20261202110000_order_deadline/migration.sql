-- No order stays PENDING for ever: each has a deadline, past which PendingOrderSweeper settles it
-- REJECTED with reason TIMED_OUT (docs/patterns/eventual-consistency.md).
ALTER TYPE rejection_reason ADD VALUE 'TIMED_OUT';

-- Checkout writes it on every order, from ORDER_PENDING_DEADLINE_MS. The default (that setting's
-- own default) covers the rows written before this column existed, which get the whole deadline
-- from the moment it is added, and any row written by other means (bench:ticket-sale's baseline).
ALTER TABLE "order" ADD COLUMN pending_until TIMESTAMPTZ NOT NULL DEFAULT now() + interval '10 minutes';

-- The sweeper's question, "which PENDING orders are past their deadline?", read from an index
-- that holds the PENDING orders only.
CREATE INDEX order_pending_until_idx ON "order" (pending_until) WHERE status = 'PENDING';
