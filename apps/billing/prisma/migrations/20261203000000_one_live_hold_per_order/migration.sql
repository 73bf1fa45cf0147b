-- One live hold per order. Two instances given the same job at once (a duplicate delivery) each
-- checked that the order had no hold and each authorized one; the charge that committed first
-- could lock only the one that was HELD by then, and the other, HELD a moment later and read by
-- no charge (the other instance's batch found the job done in its inbox), stayed on the buyer's
-- card until the sweep gave it up. With this index the second insert finds the first and asks
-- the provider nothing.
--
-- Holds written twice before this migration: the newest stays, the others are voided (declines forgotten).
WITH ranked AS (
  SELECT payment_id, status,
         row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, payment_id DESC) AS n
    FROM payment_hold WHERE status IN ('AUTHORIZING', 'HELD', 'DECLINED')
)
UPDATE payment_hold SET status = 'TO_VOID', updated_at = now()
  FROM ranked WHERE payment_hold.payment_id = ranked.payment_id AND ranked.n > 1 AND ranked.status <> 'DECLINED';
DELETE FROM payment_hold
 WHERE payment_id IN (SELECT payment_id FROM (
         SELECT payment_id, status,
                row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, payment_id DESC) AS n
           FROM payment_hold WHERE status IN ('AUTHORIZING', 'HELD', 'DECLINED')) ranked
        WHERE n > 1 AND status = 'DECLINED');

CREATE UNIQUE INDEX payment_hold_live_order_idx ON payment_hold (order_id) WHERE status IN ('AUTHORIZING', 'HELD', 'DECLINED');
