import { pause, renewEvery } from '@boxoffice/messaging';

/**
 * Waits out a retry delay without leaving the consumer group: a pause, heartbeating meanwhile (a
 * member silent for longer than its session timeout is thrown out, and its partitions move). A
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
  const stop = renewEvery(heartbeatEveryMs, heartbeat, (error) => rebalancing.abort(error));
  try {
    const waited = await pause(delayMs, AbortSignal.any([signal, rebalancing.signal]));
    if (rebalancing.signal.aborted) throw rebalancing.signal.reason;
    return waited;
  } finally {
    stop();
  }
}
