// Load from autocannon's programmatic API, shaped for boxoffice's POST endpoints: each request
// is generated with an Idempotency-Key of its own, so every one is a new purchase (a repeated
// key would be answered from the first order and measure nothing).
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';

export interface LoadOptions {
  readonly url: string;
  readonly body: unknown;
  /** Open connections; with `overallRate` unset, each sends its next request when the last is answered. */
  readonly connections: number;
  /** Stop after this many requests ... */
  readonly amount?: number;
  /** ... or after this many seconds. */
  readonly durationSeconds?: number;
  /** Requests per second across all connections; unset means as fast as the server answers. */
  readonly overallRate?: number;
  /** Counted as accepted; anything else (and any socket error or timeout) is a failure. */
  readonly acceptedStatus: number;
  readonly timeoutSeconds?: number;
}

export interface LoadResult {
  readonly sent: number;
  readonly accepted: number;
  readonly failed: number;
  readonly seconds: number;
  readonly acceptedPerSecond: number;
  readonly errorRate: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly statusCodes: Record<string, number>;
  /** Milliseconds since the epoch, for lining the load up with the sampled time series. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export async function fire(options: LoadOptions): Promise<LoadResult> {
  const startedAt = Date.now();
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    // autocannon validates keys that are present, undefined or not.
    ...(options.amount !== undefined ? { amount: options.amount } : {}),
    ...(options.durationSeconds !== undefined ? { duration: options.durationSeconds } : {}),
    ...(options.overallRate !== undefined ? { overallRate: options.overallRate } : {}),
    timeout: options.timeoutSeconds ?? 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(options.body),
    requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, 'idempotency-key': randomUUID() } }) }],
  });
  const endedAt = Date.now();
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count = 0 }]) => [code, count]));
  const accepted = statusCodes[String(options.acceptedStatus)] ?? 0;
  const answered = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  // autocannon counts a timeout as an error too: errors are the requests that got no answer.
  const sent = answered + result.errors;
  const seconds = (endedAt - startedAt) / 1_000;
  return {
    sent,
    accepted,
    failed: sent - accepted,
    seconds,
    acceptedPerSecond: accepted / seconds,
    errorRate: sent > 0 ? (sent - accepted) / sent : 0,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    statusCodes,
    startedAt,
    endedAt,
  };
}
