-- The cursor of a stream read by this service, where the stream itself keeps none (Kinesis):
-- a checkpoint per shard, and a lease per shard that says which instance reads it. Both live in
-- the consumer's own database, so a batch's checkpoint commits in the same transaction as its
-- inbox rows and effects. Each service's migration 20261201000000_stream_checkpoints is a copy.

-- How far a consumer has settled a shard: the sequence number of its last settled record.
-- A reader starts AFTER_SEQUENCE_NUMBER this; with no row, at the oldest record kept.
CREATE TABLE stream_checkpoint (
  consumer        TEXT        NOT NULL,
  stream          TEXT        NOT NULL,
  shard_id        TEXT        NOT NULL,
  sequence_number TEXT        NOT NULL,
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, stream, shard_id)
);

-- Which instance of a consumer reads a shard, until when (the Kinesis Client Library keeps the
-- same in DynamoDB). An owner renews its leases well before they expire; an expired or unowned
-- one is anybody's. A batch's checkpoint is written only while its lease row still names the
-- writer (the fence), in the batch's transaction.
CREATE TABLE stream_lease (
  consumer    TEXT        NOT NULL,
  stream      TEXT        NOT NULL,
  shard_id    TEXT        NOT NULL,
  owner       TEXT,
  expires_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, stream, shard_id)
);
