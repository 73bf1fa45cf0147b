-- A hash chain over the audit log, so that a row edited, removed or slipped in behind the
-- service's back is found (npm run audit:verify). Each entry's hash covers the previous entry's
-- hash and the entry itself; the personal fields (actor, ip) enter it only as their own hash, so
-- they can be erased on request without breaking the chain. The chain is extended by AuditLog
-- (apps/audit/src/trail/audit-chain.ts computes the hashes), one writer at a time: the head row's
-- lock, held to the commit, orders the writers.
ALTER TABLE audit_log
  ADD COLUMN personal_hash TEXT,
  ADD COLUMN prev_hash     TEXT,
  ADD COLUMN entry_hash    TEXT;

-- The hash of the last entry chained: a tail cut off the log no longer ends where the head says.
-- One row; '' is the start of the chain.
CREATE TABLE audit_chain_head (
  singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
  entry_hash TEXT    NOT NULL
);
INSERT INTO audit_chain_head (singleton, entry_hash) VALUES (TRUE, '');
