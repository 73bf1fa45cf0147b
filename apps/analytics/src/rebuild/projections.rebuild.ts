import type { Envelope } from '@boxoffice/contracts';
import { decodeInbound, type SqlExecutor } from '@boxoffice/messaging';
import { projectedEvents, ProjectionFold } from '../projections/projection.fold.js';
import { projectionTables, replaceProjections } from '../projections/projection.store.js';

export interface RebuildReport {
  /** Events in the log that the rebuilt numbers count. */
  readonly counted: number;
  /** Events in the log the live consumer has not handled yet: left to it, it adds them on top. */
  readonly leftToLiveConsumer: number;
  /** Records in the log of types Analytics does not count (or that do not decode). */
  readonly passedOver: number;
}

/**
 * Rebuilds Analytics' numbers from the retained log, while the service runs, in one transaction:
 *
 *   1. lock the projections against writes (EXCLUSIVE: reads go on, so /stats keeps serving the
 *      old numbers; the live consumer's next batch waits at its upsert);
 *   2. read every record the topics hold now, and the ids the live consumer has handled (its
 *      inbox rows);
 *   3. fold exactly the events the live consumer has handled, in memory, and write the fold over
 *      the old numbers: one DELETE and one INSERT per table;
 *   4. commit. The live consumer goes on where it was and adds what it had not handled yet.
 *
 * Counting only what the inbox holds is what keeps the live consumer and the rebuild from
 * counting an event twice or not at all. It holds for every event the log still holds because
 * inbox rows are kept longer than the log keeps a record (INBOX_RETENTION_DAYS, 40 days, against
 * at most 14 on a topic and 21 on a dead-letter topic): a pruned row's event is gone from the log
 * too. A crash anywhere before the commit rolls back: the old numbers stay. What the log no longer
 * retains (older than its retention) is not counted.
 */
/** One record of the event log as the rebuild needs it: the envelope, as it was published. */
export interface LogRecord {
  readonly value: Buffer | string | null;
}

export async function rebuildProjections(tx: SqlExecutor, readLog: () => Promise<ReadonlyArray<LogRecord>>): Promise<RebuildReport> {
  await tx.$executeRawUnsafe(`LOCK TABLE ${projectionTables.join(', ')} IN EXCLUSIVE MODE`);
  const records = await readLog();
  const inbox = await tx.$queryRawUnsafe<Array<{ id: string }>>(
    `SELECT message_id::text AS id FROM inbox_message WHERE consumer = 'analytics'`,
  );
  const handled = new Set(inbox.map((row) => row.id));

  const fold = new ProjectionFold();
  const seen = new Set<string>();
  let counted = 0;
  let leftToLiveConsumer = 0;
  let passedOver = 0;
  for (const record of records) {
    const decoded = decodeInbound(record.value ?? '', projectedEvents);
    if (!decoded.ok) {
      passedOver += 1;
      continue;
    }
    const event: Envelope = decoded.envelope;
    const id = event.id.toLowerCase();
    if (seen.has(id)) continue; // a record published twice (a relay retry): one event
    seen.add(id);
    if (!handled.has(id)) {
      leftToLiveConsumer += 1;
      continue;
    }
    fold.add(event);
    counted += 1;
  }
  await replaceProjections(tx, fold);
  return { counted, leftToLiveConsumer, passedOver };
}
