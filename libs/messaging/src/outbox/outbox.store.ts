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
  /** Messages a broker refused too often, set aside until someone retries or discards them (npm run dlq -- outbox). */
  readonly parked: number;
  readonly oldestParkedAgeMs: number;
}

/** One message of a publish that a broker did not take, by outbox position. */
export interface FailedRow {
  readonly position: string;
  readonly reason: string;
  /** The broker said no to this message; false when no answer came (nothing is counted then). */
  readonly refused: boolean;
}

/** How a refused message is tried again: after a delay doubling per refusal, and parked after the last. */
export interface RefusalPolicy {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** A parked message, as the dlq tool lists it. */
export interface ParkedRow {
  readonly position: string;
  readonly id: string;
  readonly type: string;
  readonly destination: Destination;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly parkedAt: Date;
  readonly envelope: Envelope;
}

/** Published rows deleted per statement: a long backlog of them is pruned without one huge transaction. */
const PRUNE_BATCH = 5_000;

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
 *
 * The check reads the pending messages up to the batch's last once, in position order, and finds
 * the held-back ones with one sort: its cost follows the batch and the messages it passed over,
 * never the backlog, whatever the planner believes. A queue's statistics are often taken while it
 * is empty (autovacuum's ANALYZE between two loads), and with those, a check written as an EXISTS
 * per claimed message was planned over the pending index by position and walked every earlier
 * pending message for each one: 70 ms a claim at 3,000 purchases a second, against 3 ms for 500
 * messages this way (EXPLAIN ANALYZE, the same table and statistics).
 */
export const outboxStore = {
  async claim(client: pg.ClientBase, transport: string, limit: number): Promise<ClaimedBatch> {
    // Named, like every statement of the relay's rounds: prepared once per connection, not parsed
    // and planned again on every round (see StatementNames in libs/database).
    const { rows } = await client.query<PendingMessage & { held_back: boolean }>({
      name: 'outbox.claim',
      text: `WITH claimed AS (
         SELECT position, partition_key, envelope, destination, headers
           FROM outbox_message
          WHERE status = 'pending' AND destination->>'transport' = $2 AND next_attempt_at <= now()
          ORDER BY position
          LIMIT $1
            FOR UPDATE SKIP LOCKED),
       -- Every pending message up to the batch's last, in one range of the pending index: the
       -- batch's own, and those it passed over (another relay's, or waiting for their next
       -- attempt). A key is a channel's, so of one transport.
       up_to_the_batch AS (
         SELECT position, partition_key, position NOT IN (SELECT position FROM claimed) AS passed_over
           FROM outbox_message
          WHERE status = 'pending' AND destination->>'transport' = $2
            AND position <= (SELECT max(position) FROM claimed)),
       -- Held back: a message of the batch behind a passed-over one of its key.
       held_back AS (
         SELECT position FROM (
           SELECT position, passed_over,
                  bool_or(passed_over) OVER (PARTITION BY partition_key ORDER BY position
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS behind_one
             FROM up_to_the_batch) ahead
          WHERE NOT passed_over AND behind_one)
       SELECT position::text AS position, envelope, destination, headers,
              position IN (SELECT position FROM held_back) AS held_back
         FROM claimed
        ORDER BY claimed.position`,
      values: [limit, transport],
    });
    return {
      messages: rows.filter((row) => !row.held_back).map(({ held_back: _, ...message }) => message),
      heldBack: rows.filter((row) => row.held_back).length,
    };
  },

  async markPublished(client: pg.ClientBase, positions: ReadonlyArray<string>): Promise<void> {
    if (positions.length === 0) return;
    await client.query({
      name: 'outbox.mark-published',
      text: `UPDATE outbox_message SET status = 'published', published_at = clock_timestamp()
        WHERE position = ANY($1::bigint[])`,
      values: [positions],
    });
  },

  /** A publish that failed as a whole (the broker away): the messages stay pending, the error says why. */
  async recordFailure(client: pg.ClientBase, positions: ReadonlyArray<string>, error: string): Promise<void> {
    await client.query(`UPDATE outbox_message SET last_error = $2 WHERE position = ANY($1::bigint[])`, [positions, error.slice(0, 1_000)]);
  },

  /**
   * The messages a publish did not take, each on its own: a refused one counts an attempt, waits
   * `initialDelayMs` doubled per attempt before the relay claims it again, and is parked at
   * `maxAttempts`; an unanswered one just waits the first delay. Returns the ones it parked, and
   * when the first of the others may be tried again.
   */
  async recordFailed(
    client: pg.ClientBase,
    failed: ReadonlyArray<FailedRow>,
    policy: RefusalPolicy,
  ): Promise<{ parked: ParkedRow[]; nextAttemptAt: Date | null }> {
    if (failed.length === 0) return { parked: [], nextAttemptAt: null };
    const { rows } = await client.query<ParkedRowSql & { status: string; next_attempt_at: Date }>(
      `WITH failed AS (
         SELECT * FROM json_to_recordset($1::json) AS f(position bigint, reason text, refused boolean)),
       updated AS (
         UPDATE outbox_message o
            SET attempts = o.attempts + f.refused::int,
                last_error = left(f.reason, 1000),
                status = CASE WHEN f.refused AND o.attempts + 1 >= $2 THEN 'parked' ELSE 'pending' END,
                parked_at = CASE WHEN f.refused AND o.attempts + 1 >= $2 THEN clock_timestamp() END,
                next_attempt_at = clock_timestamp() + make_interval(secs => least($4::float8, $3::float8 * power(2, o.attempts)) / 1000)
           FROM failed f
          WHERE o.position = f.position
         RETURNING o.*)
       SELECT ${PARKED_COLUMNS}, status, next_attempt_at FROM updated`,
      [JSON.stringify(failed), policy.maxAttempts, policy.initialDelayMs, policy.maxDelayMs],
    );
    const waiting = rows.filter((row) => row.status === 'pending').map((row) => row.next_attempt_at.getTime());
    return {
      parked: rows.filter((row) => row.status === 'parked').map(parkedRowOf),
      nextAttemptAt: waiting.length > 0 ? new Date(Math.min(...waiting)) : null,
    };
  },

  /** Parked messages, oldest first. */
  async parked(client: pg.ClientBase, limit = 100): Promise<ParkedRow[]> {
    const { rows } = await client.query<ParkedRowSql>(
      `SELECT ${PARKED_COLUMNS} FROM outbox_message WHERE status = 'parked' ORDER BY position LIMIT $1`,
      [limit],
    );
    return rows.map(parkedRowOf);
  },

  /**
   * Back to pending with a fresh set of attempts (all parked messages when `ids` is null); returns
   * how many. The notification wakes the relays at once, as a new message does.
   */
  async retryParked(client: pg.ClientBase, ids: ReadonlyArray<string> | null): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `WITH retried AS (
         UPDATE outbox_message SET status = 'pending', attempts = 0, parked_at = NULL, next_attempt_at = '-infinity'
          WHERE status = 'parked' AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))
         RETURNING 1)
       SELECT count(*)::int AS n, pg_notify('outbox_message', '') FROM retried`,
      [ids],
    );
    return rows[0].n;
  },

  /** Deletes parked messages for good (all of them when `ids` is null); returns how many. */
  async discardParked(client: pg.ClientBase, ids: ReadonlyArray<string> | null): Promise<number> {
    const { rowCount } = await client.query(
      `DELETE FROM outbox_message WHERE status = 'parked' AND ($1::uuid[] IS NULL OR id = ANY($1::uuid[]))`,
      [ids],
    );
    return rowCount ?? 0;
  },

  /** Deletes published rows older than the retention, PRUNE_BATCH rows a statement, each committed on its own. */
  async prunePublished(client: pg.ClientBase, olderThanMs: number): Promise<number> {
    let pruned = 0;
    for (;;) {
      const { rowCount } = await client.query(
        `DELETE FROM outbox_message WHERE position IN (
           SELECT position FROM outbox_message
            WHERE status = 'published' AND published_at < now() - make_interval(secs => $1::float8 / 1000)
            LIMIT $2)`,
        [olderThanMs, PRUNE_BATCH],
      );
      pruned += rowCount ?? 0;
      if ((rowCount ?? 0) < PRUNE_BATCH) return pruned;
    }
  },

  /** The transports that have pending messages, so a relay with no publisher for one can say so. */
  async pendingTransports(client: pg.ClientBase): Promise<string[]> {
    const { rows } = await client.query<{ transport: string }>(
      `SELECT DISTINCT destination->>'transport' AS transport FROM outbox_message WHERE status = 'pending'`,
    );
    return rows.map((row) => row.transport);
  },

  /** Each figure from its own partial index: the published rows, most of the table, are never read. */
  async stats(client: pg.ClientBase): Promise<OutboxStats> {
    const { rows } = await client.query<{ pending: number; oldest_ms: number; parked: number; oldest_parked_ms: number }>(
      `SELECT (SELECT count(*) FROM outbox_message WHERE status = 'pending')::int AS pending,
              COALESCE(EXTRACT(EPOCH FROM now() - (SELECT min(created_at) FROM outbox_message WHERE status = 'pending')) * 1000, 0)::float8
                AS oldest_ms,
              (SELECT count(*) FROM outbox_message WHERE status = 'parked')::int AS parked,
              COALESCE(EXTRACT(EPOCH FROM now() - (SELECT min(parked_at) FROM outbox_message WHERE status = 'parked')) * 1000, 0)::float8
                AS oldest_parked_ms`,
    );
    const [row] = rows;
    return {
      pending: row.pending,
      oldestPendingAgeMs: Math.round(row.oldest_ms),
      parked: row.parked,
      oldestParkedAgeMs: Math.round(row.oldest_parked_ms),
    };
  },
};

const PARKED_COLUMNS = `position::text AS position, id::text AS id, type, destination, attempts, last_error, created_at, parked_at, envelope`;

interface ParkedRowSql {
  position: string;
  id: string;
  type: string;
  destination: Destination;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  parked_at: Date;
  envelope: Envelope;
}

function parkedRowOf(row: ParkedRowSql): ParkedRow {
  return {
    position: row.position,
    id: row.id,
    type: row.type,
    destination: row.destination,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    parkedAt: row.parked_at,
    envelope: row.envelope,
  };
}
