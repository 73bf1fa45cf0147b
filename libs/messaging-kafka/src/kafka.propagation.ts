import { retryTransient } from '@boxoffice/messaging';

/**
 * Errors a healthy cluster gives for a moment: a topic just created is not yet in every
 * broker's metadata, a partition has no leader yet, the group coordinator (the internal
 * __consumer_offsets topic, created on first use) is still loading. Seen on every fresh broker.
 */
const PASSING = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
]);

export function isPassingKafkaError(error: unknown): boolean {
  const e = error as { type?: string; cause?: { type?: string } } | null;
  return PASSING.has(e?.type ?? '') || PASSING.has(e?.cause?.type ?? '');
}

/** Runs `work`, trying again while the cluster answers with one of those passing errors. */
export function whileKafkaSettles<T>(work: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  return retryTransient(work, {
    transient: isPassingKafkaError,
    timeoutMs,
    backoff: { initialDelayMs: 100, multiplier: 2, maxDelayMs: 2_000, jitter: 0.2 },
  });
}
