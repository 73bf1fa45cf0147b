import type { Envelope } from '@boxoffice/contracts';
import type pg from 'pg';
import type { Destination } from '../destination.js';

export interface PendingMessage {
  readonly position: string;
  readonly envelope: Envelope;
  readonly destination: Destination;
  readonly headers: Record<string, string> | null;
}

export interface ClaimedBatch {
  /** Safe to publish now, in this order. */
  readonly messages: PendingMessage[];
  /** Claimed, but an earlier message of the same key must go first: the next round takes them. */
  readonly heldBack: number;
}

export interface OutboxStats {
  readonly pending: number;
  readonly oldestPendingAgeMs: number;
}

/**
 * The relay's SQL against `outbox_message`, run on the connection that holds the claim.
 *
 * `claim` takes the oldest pending messages with FOR UPDATE SKIP LOCKED, so several relays share
 * the work without waiting on each other. SKIP LOCKED alone would let a relay publish a message
 * while an earlier message of the same key sits in another relay's batch, so a claimed message
 * with an earlier pending message of its key outside the batch is held back for a later round.
 * "Pending" is judged by the claim's own snapshot: an earlier message another relay holds is
 * still pending there (that relay has not committed), and one it has committed as published has
 * already reached the broker. Either way the later message cannot overtake it.
 */
export const outboxStore = {
  async claim(client: pg.ClientBase, transport: string, limit: number): Promise<ClaimedBatch> {
    const { rows } = await client.query<PendingMessage & { held_back: boolean }>(
      `WITH claimed AS (
         SELECT position, partition_key, envelope, destination, headers
           FROM outbox_message
          WHERE status = 'pending' AND destination->>'transport' = $2
          ORDER BY position
          LIMIT $1
            FOR UPDATE SKIP LOCKED)
       SELECT position::text AS position, envelope, destination, headers,
              EXISTS (SELECT 1 FROM outbox_message earlier
                       WHERE earlier.partition_key = claimed.partition_key
                         AND earlier.status = 'pending'
                         AND earlier.position < claimed.position
                         AND earlier.position NOT IN (SELECT position FROM claimed)) AS held_back
         FROM claimed
        ORDER BY claimed.position`,
      [limit, transport],
    );
    return {
      messages: rows.filter((row) => !row.held_back).map(({ held_back: _, ...message }) => message),
      heldBack: rows.filter((row) => row.held_back).length,
    };
  },

  async markPublished(client: pg.ClientBase, positions: ReadonlyArray<string>): Promise<void> {
    if (positions.length === 0) return;
    await client.query(
      `UPDATE outbox_message SET status = 'published', published_at = clock_timestamp()
        WHERE position = ANY($1::bigint[])`,
      [positions],
    );
  },

  /** A failed publish keeps the message pending; the count and error say why it is still there. */
  async recordFailure(client: pg.ClientBase, positions: ReadonlyArray<string>, error: string): Promise<void> {
    await client.query(
      `UPDATE outbox_message SET attempts = attempts + 1, last_error = $2
        WHERE position = ANY($1::bigint[])`,
      [positions, error.slice(0, 1_000)],
    );
  },

  async prunePublished(client: pg.ClientBase, olderThanMs: number): Promise<number> {
    const { rowCount } = await client.query(
      `DELETE FROM outbox_message
        WHERE status = 'published' AND published_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [olderThanMs],
    );
    return rowCount ?? 0;
  },

  /** The transports that have pending messages, so a relay with no publisher for one can say so. */
  async pendingTransports(client: pg.ClientBase): Promise<string[]> {
    const { rows } = await client.query<{ transport: string }>(
      `SELECT DISTINCT destination->>'transport' AS transport FROM outbox_message WHERE status = 'pending'`,
    );
    return rows.map((row) => row.transport);
  },

  async stats(client: pg.ClientBase): Promise<OutboxStats> {
    const { rows } = await client.query<{ pending: number; oldest_ms: number }>(
      `SELECT count(*)::int AS pending,
              COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)) * 1000, 0)::float8 AS oldest_ms
         FROM outbox_message WHERE status = 'pending'`,
    );
    return { pending: rows[0].pending, oldestPendingAgeMs: Math.round(rows[0].oldest_ms) };
  },
};
