-- The waiting room (docs/patterns/load-levelling.md#the-waiting-room).

-- A place in line: every order accepted by POST /orders takes the next number. A buyer's
-- position is their number against the highest number settled, both read in O(1), never a count
-- over the pending orders. Numbers lost to a rolled-back batch leave gaps, which only make a
-- position a little pessimistic until the line passes them. A synchronous order (POST
-- /orders/sync) waits in no line and has no number. The orders there before are numbered in the
-- order they came.
CREATE SEQUENCE order_line_number_seq;
ALTER TABLE "order" ADD COLUMN line_number BIGINT;
ALTER SEQUENCE order_line_number_seq OWNED BY "order".line_number;
UPDATE "order" o SET line_number = numbered.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM "order") numbered
 WHERE o.id = numbered.id;
SELECT setval('order_line_number_seq', max(line_number)) FROM "order" HAVING count(*) > 0;

-- "The highest number settled": a backward scan of this index, which holds the settled orders only.
CREATE INDEX order_settled_line_idx ON "order" (line_number) WHERE status <> 'PENDING';

-- Sold out at the door: the seats of the orders still in line or confirmed. An order takes its
-- seats in the statement that accepts it, and gives them back when it is rejected, so a concert
-- whose seats are all taken refuses a new buyer before any command, charge or mail is made.
ALTER TABLE concert ADD COLUMN seats_claimed INT NOT NULL DEFAULT 0;
UPDATE concert c
   SET seats_claimed = coalesce((SELECT sum(o.quantity) FROM "order" o WHERE o.concert_id = c.id AND o.status <> 'REJECTED'), 0);
