import type { BatchSettings } from '../transport.port.js';

/** A broker a lane pulls from, which says with each message how many more wait behind it (JetStream's `pending`). */
export interface PendingSource<M> {
  /** Waits (up to the pull's own expiry) for one message; null if none came. */
  first(): Promise<M | null>;
  /** Pulls `count` messages, no more than the broker said wait; it may bring fewer (another lane took some). */
  more(count: number): Promise<AsyncIterable<M>>;
  /** How many more waited behind this message when the broker delivered it. */
  pendingAfter(message: M): number;
}

/**
 * A batch from a broker that is pulled: a first message, then pulls of exactly as many more as
 * the broker said wait, until the batch is full or `maxWaitMs` passed since the first. Such a pull
 * ends at once, where one left open (asking for more than wait) would deliver into a lane that has
 * moved on, and those messages would sit out their ack wait. [] when nothing came; no further pull
 * once `signal` aborts.
 */
export async function pullPending<M>(
  source: PendingSource<M>,
  { maxMessages, maxWaitMs }: BatchSettings,
  signal: AbortSignal,
): Promise<M[]> {
  const first = await source.first();
  if (!first) return [];
  const batch: M[] = [first];
  const deadline = performance.now() + maxWaitMs;
  const pending = () => source.pendingAfter(batch.at(-1)!);
  while (batch.length < maxMessages && pending() > 0 && performance.now() < deadline && !signal.aborted) {
    const before = batch.length;
    for await (const message of await source.more(Math.min(maxMessages - batch.length, pending()))) batch.push(message);
    if (batch.length === before) break; // another lane took them: what `pending` said is stale
  }
  return batch;
}
