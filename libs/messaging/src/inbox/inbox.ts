import type { SqlExecutor } from '../sql-client.js';

/** Rows deleted per statement when pruning: short row locks, and the front door's queries go on between them. */
const PRUNE_BATCH = 5_000;

/**
 * Makes a message's effect happen once per consumer, however often it is delivered. The consumer
 * pipeline claims a whole batch with one statement, in the batch's transaction, before any
 * handler runs: a row that was already there is a duplicate, and its message is acknowledged
 * with no effect. A second consumer holding the same message at the same moment waits on the
 * first one's uncommitted row, then finds it: the two can never both do the work. The broker ack
 * or offset commit comes after the commit; a crash before it redelivers, and the row says "done".
 */
export const Inbox = {
  /** Inserts a row per message; returns the ids that were new. One statement for the batch. */
  async claim(
    tx: SqlExecutor,
    consumer: string,
    messages: ReadonlyArray<{ readonly id: string; readonly type: string }>,
  ): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(
      `INSERT INTO inbox_message (consumer, message_id, type)
       SELECT $1, m.id, m.type FROM json_to_recordset($2::json) AS m(id uuid, type text)
       ON CONFLICT DO NOTHING
       RETURNING message_id::text AS id`,
      consumer,
      JSON.stringify(messages.map(({ id, type }) => ({ id, type }))),
    );
    return new Set(rows.map((row) => row.id));
  },

  /** Takes back the claims of messages that were not done after all (they failed, or were held back). */
  async release(tx: SqlExecutor, consumer: string, ids: ReadonlyArray<string>): Promise<void> {
    if (ids.length === 0) return;
    await tx.$executeRawUnsafe(`DELETE FROM inbox_message WHERE consumer = $1 AND message_id = ANY($2::uuid[])`, consumer, ids);
  },

  /**
   * Forgets what every consumer of this database received more than `olderThanMs` ago, at most
   * `batchSize` rows a statement, each statement committed on its own (pass the client, not a
   * transaction): a long backlog never makes one huge transaction. Rows another pruner holds are
   * skipped, so the instances of a service prune side by side. Stops between statements once
   * `signal` aborts. Returns how many rows it deleted.
   *
   * A copy of a message that arrives after its row is gone is processed again, so the window must
   * outlast every place a message can come back from: see inbox.retention.ts.
   */
  async prune(
    db: SqlExecutor,
    olderThanMs: number,
    options: { readonly batchSize?: number; readonly signal?: AbortSignal } = {},
  ): Promise<number> {
    const batchSize = options.batchSize ?? PRUNE_BATCH;
    let pruned = 0;
    while (!options.signal?.aborted) {
      // The rows the inner select found, deleted by their physical address (a TID scan): no second lookup by key.
      const deleted = await db.$executeRawUnsafe(
        `DELETE FROM inbox_message WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM inbox_message
            WHERE received_at < now() - make_interval(secs => $1::float8 / 1000)
            LIMIT $2::int
              FOR UPDATE SKIP LOCKED))`,
        olderThanMs,
        batchSize,
      );
      pruned += deleted;
      if (deleted < batchSize) break;
    }
    return pruned;
  },
} as const;
