-- The outbox and the inbox are queues: a row is written, then updated or deleted within seconds,
-- and every version it leaves behind stays in the table and its indexes, for each relay's claim
-- and each consumer's check to walk, until a VACUUM. Autovacuum's defaults wait until a fifth of
-- a table is dead, and then work slowly so as not to disturb: right for a table that grows, wrong
-- for a queue whose live rows are few and whose dead ones pile up at hundreds a second. These two
-- are vacuumed once a thousand of their rows are dead, whatever their size, at full speed. How
-- often autovacuum looks is the server's autovacuum_naptime (docker-compose.yml sets 10 s).
-- Each service's migration 20261207000000_queue_tables_autovacuum is a copy.
ALTER TABLE outbox_message SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE inbox_message SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
