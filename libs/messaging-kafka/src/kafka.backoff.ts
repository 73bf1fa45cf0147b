import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits out a retry delay without leaving the consumer group. A Kafka consumer that stays silent
 * longer than its session timeout is thrown out and its partitions move elsewhere, so the wait is
 * cut into slices with a heartbeat after each. A heartbeat that fails (the group is rebalancing)
 * rejects, which hands the partition back undone. Resolves false if `signal` aborts first (the
 * consumer is stopping), true once the whole delay has passed.
 */
export async function waitWithHeartbeats(
  delayMs: number,
  heartbeat: () => Promise<void>,
  signal: AbortSignal,
  heartbeatEveryMs: number,
): Promise<boolean> {
  const deadline = Date.now() + delayMs;
  for (let left = delayMs; left > 0 && !signal.aborted; left = deadline - Date.now()) {
    try {
      await delay(Math.min(left, heartbeatEveryMs), undefined, { signal });
    } catch (error) {
      if (signal.aborted) return false;
      throw error;
    }
    await heartbeat();
  }
  return !signal.aborted;
}
