-- A payment hold lives for one charge: inserted, updated as the provider answers and the order's
-- verdict comes, then deleted. At 500 charges a second that is some 2,000 dead rows a second on
-- a table of a few hundred live ones, and the sweeper's look for holds due walks them all. Vacuumed
-- as the outbox is (20261207000000_outbox_upkeep): once a thousand rows are dead.
ALTER TABLE payment_hold SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
