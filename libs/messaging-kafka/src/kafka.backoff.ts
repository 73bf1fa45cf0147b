import { pause } from '@boxoffice/messaging';

/**
 * Keeps a member in its consumer group while it holds a partition's records: a consumer silent
 * for longer than its session timeout is thrown out and its partitions move elsewhere. Heartbeats
 * every `everyMs` until the returned function is called, and hands a heartbeat that fails (the
 * group is rebalancing) to `lost`. The keepAlive of a batch while it is tried.
 */
export function heartbeating(heartbeat: () => Promise<void>, everyMs: number, lost: (error: unknown) => void): () => void {
  const timer = setInterval(() => void heartbeat().catch(lost), everyMs);
  return () => clearInterval(timer);
}

/**
 * Waits out a retry delay without leaving the consumer group: a pause, heartbeating meanwhile. A
 * heartbeat that fails rejects, which hands the partition back undone. Resolves false if `signal`
 * aborts first (the consumer is stopping), true once the whole delay has passed.
 */
export async function waitWithHeartbeats(
  delayMs: number,
  heartbeat: () => Promise<void>,
  signal: AbortSignal,
  heartbeatEveryMs: number,
): Promise<boolean> {
  const rebalancing = new AbortController();
  const stop = heartbeating(heartbeat, heartbeatEveryMs, (error) => rebalancing.abort(error));
  try {
    const waited = await pause(delayMs, AbortSignal.any([signal, rebalancing.signal]));
    if (rebalancing.signal.aborted) throw rebalancing.signal.reason;
    return waited;
  } finally {
    stop();
  }
}
