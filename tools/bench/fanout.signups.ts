// POST /users as k6/signup-fanout.js runs it: `vus` clients, each signing one user up after the
// other until `signups` are done (k6's shared-iterations, a closed model), then how long each
// subscriber takes to catch up once the last sign-up is answered (k6's fanout_catch_up_ms).
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { SignupFanoutParams } from './params.reader.ts';

export interface SignupsResult {
  readonly signups: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Answers by status code; a request that failed outright is counted under its error's name. */
  readonly statuses: Record<string, number>;
  /** Of the 202s, as k6 reports http_req_duration. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** From the last answer until the subscriber had handled every sign-up; null if it had not by the deadline. */
  readonly catchUpMs: Record<string, number | null>;
}

/**
 * Signs `params.signups` users up at `checkoutUrl`, then waits for each subscriber in `caughtUp`
 * (given how many sign-ups it should have handled since it was asked first) to have handled them.
 */
export async function signUpsThroughTheApi(
  checkoutUrl: string,
  params: SignupFanoutParams,
  caughtUp: Record<string, (signups: number) => Promise<boolean>>,
): Promise<SignupsResult> {
  const url = new URL('/users', checkoutUrl);
  const clients = new Pool(url.origin, { connections: params.vus, pipelining: 1 });
  const run = randomUUID().slice(0, 8);
  const statuses: Record<string, number> = {};
  const accepted: number[] = [];
  let next = 0;
  const startedAt = performance.now();
  try {
    await Promise.all(
      Array.from({ length: params.vus }, async () => {
        for (let n = next++; n < params.signups; n = next++) {
          const sent = performance.now();
          const outcome = await clients
            .request({
              path: url.pathname,
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ email: `fan-${run}-${n}@bench.example`, name: `Fan ${n}` }),
            })
            .then(
              async (response) => {
                await response.body.dump();
                return String(response.statusCode);
              },
              (error: unknown) => (error instanceof Error ? error.name : String(error)),
            );
          statuses[outcome] = (statuses[outcome] ?? 0) + 1;
          if (outcome === '202') accepted.push(performance.now() - sent);
        }
      }),
    );
  } finally {
    await clients.close();
  }
  const seconds = (performance.now() - startedAt) / 1_000;
  const answeredAt = performance.now();
  const catchUpMs: Record<string, number | null> = {};
  await Promise.all(
    Object.entries(caughtUp).map(async ([subscriber, done]) => {
      catchUpMs[subscriber] = await waitFor(
        () => done(accepted.length),
        (yes) => yes,
        { timeoutMs: params.catchUpTimeoutSeconds * 1_000, intervalMs: 50, description: `${subscriber} to catch up` },
      ).then(
        () => Math.round(performance.now() - answeredAt),
        () => null,
      );
    }),
  );
  accepted.sort((a, b) => a - b);
  const percentile = (p: number) => Math.round(accepted[Math.min(accepted.length - 1, Math.ceil((p / 100) * accepted.length) - 1)] ?? NaN);
  return {
    signups: params.signups,
    seconds,
    perSecond: Math.round(params.signups / seconds),
    statuses,
    latencyMs: { p50: percentile(50), p95: percentile(95), p99: percentile(99) },
    catchUpMs,
  };
}
