import type { Settlement } from '../transport.port.js';

/** How many settlements at the front are final (neither a retry nor held): how far a log's cursor may move. */
export function settledPrefix(settlements: ReadonlyArray<Settlement>): number {
  const first = settlements.findIndex((settlement) => settlement.kind === 'retry' || settlement.kind === 'held');
  return first < 0 ? settlements.length : first;
}

/** What one partition or shard supplies to be settled in order, in its log's terms. */
export interface OrderedLog<R> {
  /** The pipeline's settlements for these records (tried again while the database is away); null gives up. */
  process(records: ReadonlyArray<R>): Promise<Settlement[] | null>;
  /**
   * Settles a prefix for good: parks its dead letters, then moves the cursor past its last
   * record (a committed offset). A log whose cursor commits with the batch's transaction has
   * done both already, and does nothing here.
   */
  commit(records: ReadonlyArray<R>, settlements: ReadonlyArray<Settlement>): Promise<void>;
  /** Waits a retry's delay in place, keeping the partition (heartbeats); false gives up. */
  wait(ms: number): Promise<boolean>;
  /** The record as it is tried again: with the failure headers its retry carries. */
  retried(record: R, headers: Record<string, string>): R;
}

/**
 * Retry in place on an ordered log, for every partitioned transport. A log has no per-message
 * ack and no delay queue, only a cursor, and nothing may overtake a message that waits for a
 * retry. So the records go to the pipeline; the settled prefix is committed; if a record is to
 * be retried, the log waits its backoff where it stands and goes again from that record (the
 * pipeline held back the ones after it). Resolves true once all are settled, false when given up:
 * the rest is read again, from the cursor, by whoever reads the log next.
 */
export async function settleInOrder<R>(records: ReadonlyArray<R>, log: OrderedLog<R>): Promise<boolean> {
  let pending = records;
  while (pending.length > 0) {
    const settlements = await log.process(pending);
    if (!settlements) return false;
    const settled = settledPrefix(settlements);
    if (settled > 0) await log.commit(pending.slice(0, settled), settlements.slice(0, settled));
    if (settled === pending.length) return true;
    // The pipeline holds back what follows a retry, so the first unsettled one is the retry itself.
    const retry = settlements[settled];
    if (!(await log.wait(retry.kind === 'retry' ? retry.delayMs : 0))) return false;
    pending = pending.slice(settled).map((record, i) => (i === 0 && retry.kind === 'retry' ? log.retried(record, retry.headers) : record));
  }
  return true;
}
