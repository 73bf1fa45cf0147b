/**
 * A failed message carries its failure record in headers on its way through retries and into a
 * dead letter store. The same names on every transport, read and written here only, so the dlq
 * tool reads every transport alike.
 */
export const FailureHeaders = {
  attempts: 'x-attempts',
  lastError: 'x-last-error',
  firstFailureAt: 'x-first-failure-at',
  lastFailureAt: 'x-last-failure-at',
  /** The queue or topic the message was consumed from; replay sends it back there. */
  originalSource: 'x-original-source',
  consumer: 'x-consumer',
} as const;

export type Headers = Readonly<Record<string, string>>;

export interface FailureRecord {
  readonly attempts: number;
  readonly lastError: string;
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
}

/** Where a failed message was consumed, and by whom. */
export interface FailureOrigin {
  readonly source: string;
  readonly consumer: string;
}

const names = new Set<string>(Object.values(FailureHeaders));

/** The failure record after one more failed attempt. */
export function recordFailure(previous: Partial<FailureRecord>, error: string, now: Date): FailureRecord {
  return {
    attempts: (previous.attempts ?? 0) + 1,
    lastError: error.slice(0, 1_000),
    firstFailureAt: previous.firstFailureAt ?? now.toISOString(),
    lastFailureAt: now.toISOString(),
  };
}

/** The failure record a message carries; empty on a first delivery. */
export function readFailure(headers: Headers): Partial<FailureRecord> {
  const attempts = Number(headers[FailureHeaders.attempts]);
  return {
    ...(Number.isInteger(attempts) && attempts > 0 ? { attempts } : {}),
    ...(headers[FailureHeaders.lastError] !== undefined ? { lastError: headers[FailureHeaders.lastError] } : {}),
    ...(headers[FailureHeaders.firstFailureAt] !== undefined ? { firstFailureAt: headers[FailureHeaders.firstFailureAt] } : {}),
    ...(headers[FailureHeaders.lastFailureAt] !== undefined ? { lastFailureAt: headers[FailureHeaders.lastFailureAt] } : {}),
  };
}

export function readOrigin(headers: Headers): Partial<FailureOrigin> {
  return {
    ...(headers[FailureHeaders.originalSource] ? { source: headers[FailureHeaders.originalSource] } : {}),
    ...(headers[FailureHeaders.consumer] ? { consumer: headers[FailureHeaders.consumer] } : {}),
  };
}

/** The headers of a retried or dead-lettered copy: the original ones with the new record. */
export function withFailure(headers: Headers, record: FailureRecord, origin: FailureOrigin): Record<string, string> {
  return {
    ...withoutFailure(headers),
    [FailureHeaders.attempts]: String(record.attempts),
    [FailureHeaders.lastError]: record.lastError,
    [FailureHeaders.firstFailureAt]: record.firstFailureAt,
    [FailureHeaders.lastFailureAt]: record.lastFailureAt,
    [FailureHeaders.originalSource]: origin.source,
    [FailureHeaders.consumer]: origin.consumer,
  };
}

/**
 * The headers of a message as it was before it ever failed: what replay sends back, so it starts
 * again with a full set of attempts. `extra` names a transport's own additions to drop as well.
 */
export function withoutFailure(headers: Headers, extra: ReadonlyArray<string> = []): Record<string, string> {
  const drop = new Set([...names, ...extra]);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop.has(name)));
}

/**
 * A delivery's headers as the pipeline reads them, on a broker whose retry is the same message
 * delivered again (JetStream, Artemis) and so carries no new failure record: its attempts so far
 * are the broker's count of the deliveries before this one, replacing any `x-attempts` the
 * message carried. A first delivery (`attempts` 0) carries none.
 */
export function withDeliveryAttempts(headers: Headers, attempts: number): Record<string, string> {
  const { [FailureHeaders.attempts]: _carried, ...rest } = headers;
  return attempts > 0 ? { ...rest, [FailureHeaders.attempts]: String(attempts) } : rest;
}
