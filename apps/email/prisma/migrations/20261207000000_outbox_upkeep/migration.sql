-- The outbox is a queue: a row is written, then published and pruned within seconds, and every
-- version it leaves behind stays in the table and its indexes, for each relay's claim to walk,
-- until a VACUUM. Autovacuum's defaults wait until a fifth of a table is dead, and then work
-- slowly so as not to disturb: right for a table that grows, wrong for a queue whose live rows
-- are few and whose dead ones pile up at hundreds a second. This one is vacuumed once a thousand
-- of its rows are dead, whatever its size, at full speed. How often autovacuum looks is the
-- server's autovacuum_naptime (docker-compose.yml sets 10 s).
ALTER TABLE outbox_message SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);

-- The relay's check for earlier messages of a key (outboxStore.claim) reads the pending messages
-- by position now, not by key: this index only cost every write.
DROP INDEX outbox_message_pending_key_idx;
