-- A mail's row is claimed, renewed and marked sent: three versions for each mail, two of them dead
-- within a second, and the claim's look for mails due walks them. Vacuumed as the outbox is
-- (20261207000000_outbox_upkeep): once a thousand rows are dead.
ALTER TABLE sent_email SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
