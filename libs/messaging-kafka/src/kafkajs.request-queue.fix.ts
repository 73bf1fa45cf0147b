import { createRequire } from 'node:module';

/** The shape of the one kafkajs internal this touches; kafkajs ships no types for its internals. */
export interface KafkaJsRequestQueue {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

const applied = Symbol.for('boxoffice.kafkajs.request-queue-fix');

/** The class kafkajs uses for every broker connection: `require` returns the instance kafkajs itself loaded. */
export function kafkaJsRequestQueueClass(): { prototype: KafkaJsRequestQueue } {
  return createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js');
}

/**
 * Works around a kafkajs 2.2.4 bug that Node 24 reports as
 * `TimeoutNegativeWarning: -17xxxxxxxxxxx is a negative number`.
 *
 * After every response, each broker connection's RequestQueue calls
 * `scheduleCheckPendingRequests`, which computes `throttledUntil - Date.now()`. When nothing is
 * throttled, `throttledUntil` is -1, so the delay is minus the epoch; Node clamps it to 1 ms and,
 * since Node 24, warns. Worse, the timer calls back into the same method, so every connection
 * polls its empty queue every millisecond for as long as it lives.
 * https://github.com/tulios/kafkajs/issues/1751 and https://github.com/tulios/kafkajs/issues/1704
 *
 * The fix is the one proposed upstream (tulios/kafkajs#1768, review comment): with no pending
 * request and no throttle in force there is nothing to check later, because a request that has to
 * wait is queued by `push`, which schedules its own check, and every response checks the queue
 * again. In every other case the original method runs, and its delay is then never negative.
 *
 * kafkajs has no hook for this, hence a guarded patch of the one method, applied once per process.
 * Delete this file when kafkajs ships the fix.
 */
export function applyKafkaJsRequestQueueFix(): void {
  const prototype = kafkaJsRequestQueueClass().prototype as KafkaJsRequestQueue & { [applied]?: true };
  if (prototype[applied]) return;
  const original = prototype.scheduleCheckPendingRequests;
  prototype.scheduleCheckPendingRequests = function (this: KafkaJsRequestQueue) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  prototype[applied] = true;
}
