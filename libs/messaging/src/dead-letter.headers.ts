/**
 * Headers a message carries on its way through retries and into a dead letter destination.
 * The same names are used on RabbitMQ and Kafka, so the dlq tool reads both alike.
 */
export const DeadLetterHeaders = {
  attempts: 'x-attempts',
  lastError: 'x-last-error',
  firstFailureAt: 'x-first-failure-at',
  lastFailureAt: 'x-last-failure-at',
  /** The queue or topic the message was consumed from; replay sends it back there. */
  originalSource: 'x-original-source',
  consumer: 'x-consumer',
} as const;

export interface FailureRecord {
  readonly attempts: number;
  readonly lastError: string;
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
}

/** The failure record after one more failed attempt. */
export function recordFailure(previous: Partial<FailureRecord>, error: string, now: Date): FailureRecord {
  return {
    attempts: (previous.attempts ?? 0) + 1,
    lastError: error.slice(0, 1_000),
    firstFailureAt: previous.firstFailureAt ?? now.toISOString(),
    lastFailureAt: now.toISOString(),
  };
}
