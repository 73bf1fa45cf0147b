import { delayWithJitterMs, hasAttemptsLeft, recordFailure, type RetryPolicy } from '@boxoffice/messaging';
import { carriedHeaders, failureHeaders, readFailureRecord, type Headers } from './rabbitmq.message.js';
import { deadLetterQueueName, retryLevelFor, retryQueueName } from './rabbitmq.topology.js';

export interface Failure {
  /** The work queue the message was consumed from. */
  readonly queue: string;
  readonly consumer: string;
  /** The headers the message arrived with, carrying its earlier failures if any. */
  readonly headers: Headers | undefined;
  readonly reason: string;
  /** Poison or a handler's dead-letter outcome: retrying cannot help. */
  readonly permanent: boolean;
}

/** Where a failed message goes next, and the headers its copy carries there. */
export type FailurePlan =
  | { readonly kind: 'retry'; readonly queue: string; readonly delayMs: number; readonly attempts: number; readonly headers: Headers }
  | { readonly kind: 'dead-letter'; readonly queue: string; readonly attempts: number; readonly headers: Headers };

/**
 * Decides what happens to a message whose attempt failed: another attempt after a delay, in the
 * delay queue of this attempt's backoff level, or the dead letter queue. Pure, so the rules are
 * unit tested; the consumer only carries the plan out.
 */
export function planFailure(
  failure: Failure,
  policy: RetryPolicy,
  now: Date,
  random: () => number = Math.random,
): FailurePlan {
  const record = recordFailure(readFailureRecord(failure.headers), failure.reason, now);
  const headers = { ...carriedHeaders(failure.headers), ...failureHeaders(record, failure.queue, failure.consumer) };
  if (failure.permanent || !hasAttemptsLeft(policy, record.attempts)) {
    return { kind: 'dead-letter', queue: deadLetterQueueName(failure.queue), attempts: record.attempts, headers };
  }
  const { level } = retryLevelFor(policy, record.attempts);
  return {
    kind: 'retry',
    queue: retryQueueName(failure.queue, level),
    delayMs: delayWithJitterMs(policy, record.attempts, random),
    attempts: record.attempts,
    headers,
  };
}
