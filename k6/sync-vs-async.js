// The same offered load against the two ways to buy, one after the other and then both at once,
// with Billing capped at its BILLING_MAX_RATE:
//   sync   POST /orders/sync  Checkout calls Billing over HTTP and waits: above Billing's rate its
//                             fail-fast policies answer 503 (Retry-After) or 504 by SYNC_TIMEOUT_MS;
//                             with SYNC_POLICIES=off requests pile up, time out and lose connections;
//   async  POST /orders       Checkout commits the order and a queued charge, and answers 202.
// The last two scenarios run side by side: the async path should keep at least 80% of the rate it
// had alone while the sync path is hammered (compare purchases_accepted{path:async} per scenario).
// An open model (constant-arrival-rate): buyers keep arriving whether or not earlier ones were
// answered, which is what makes a slow dependency visible as errors rather than as a slower test.
//
//   docker compose --profile loadtest run --rm k6 run /k6/sync-vs-async.js
//
// Compare `purchases_accepted{path:sync}` with `{path:async}`, `http_req_failed` of each scenario,
// and `sync_without_answer` (a reset connection or no answer at all, which the policies rule out)
// in the summary. Parameters: params.json, `syncVsAsync`.
import { check, sleep } from 'k6';
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { params, purchase, scheduleConcert } from './lib/checkout.js';

const run = params.syncVsAsync;
const accepted = new Counter('purchases_accepted');
const withoutAnswer = new Counter('sync_without_answer');
const asyncWithoutAnswer = new Counter('async_without_answer');
const asyncAnswered = http.expectedStatuses(202, 503);
const duration = `${run.durationSeconds}s`;

/** @param {string} scenarioExec @param {string} startTime @returns {import('k6/options').ConstantArrivalRateScenario} */
const offered = (scenarioExec, startTime) => ({
  executor: 'constant-arrival-rate',
  exec: scenarioExec,
  startTime,
  rate: run.offeredRate,
  timeUnit: '1s',
  duration,
  preAllocatedVUs: Math.min(run.maxVUs, run.offeredRate),
  maxVUs: run.maxVUs,
  gracefulStop: '10s',
});

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    sync: offered('buySync', '0s'),
    // After the sync scenario and its graceful stop, so the two never share Billing.
    async: offered('buyAsync', `${run.durationSeconds + 15}s`),
    // Then both at once: what the sync path's load costs the async one on the same Checkout.
    syncBeside: offered('buySync', `${2 * (run.durationSeconds + 15)}s`),
    asyncBeside: offered('buyAsync', `${2 * (run.durationSeconds + 15)}s`),
  },
  thresholds: {
    // The point of the comparison: the async path answers every request at once, a 202 or, above
    // what Checkout commits in time (ACCEPT_MAX_IN_FLIGHT), a 503 with Retry-After; never a reset.
    'http_req_failed{scenario:async}': ['rate<0.001'],
    async_without_answer: ['count==0'],
    // Shown in the summary for comparison; the sync path is expected to fail under this load.
    'http_req_failed{scenario:sync}': [],
    'purchases_accepted{path:sync}': [],
    'purchases_accepted{path:async}': [],
    'http_req_duration{scenario:sync}': [],
    'http_req_duration{scenario:async}': [],
    'http_req_failed{scenario:asyncBeside}': [],
    'http_req_duration{scenario:syncBeside}': [],
    'http_req_duration{scenario:asyncBeside}': [],
    'purchases_accepted{scenario:async}': [],
    'purchases_accepted{scenario:asyncBeside}': [],
    // Every request gets an HTTP answer: a 503 or a 504 when it must fail, never a reset.
    sync_without_answer: ['count==0'],
  },
};

export function setup() {
  const concertId = scheduleConcert(run.capacity);
  // Billing learns of the concert through Kafka; until then the sync path answers 503.
  const deadline = Date.now() + 30_000;
  while (purchase('/orders/sync', concertId, 1, `k6-probe-${Date.now()}`).status === 503 && Date.now() < deadline) sleep(0.5);
  return { concertId };
}

/** @param {{ concertId: string }} data */
export function buySync(data) {
  const response = purchase(
    '/orders/sync',
    data.concertId,
    1,
    `k6-${exec.scenario.name}-${data.concertId}-${exec.scenario.iterationInTest}`,
  );
  if (response.status === 0) withoutAnswer.add(1);
  check(response, { 'sync: refused with Retry-After when it is a 503': (r) => r.status !== 503 || Boolean(r.headers['Retry-After']) });
  if (check(response, { 'sync: answered with a settled order (201)': (r) => r.status === 201 })) accepted.add(1, { path: 'sync' });
}

/** @param {{ concertId: string }} data */
export function buyAsync(data) {
  const response = purchase('/orders', data.concertId, 1, `k6-${exec.scenario.name}-${data.concertId}-${exec.scenario.iterationInTest}`, {
    // Above what it can commit in time, the front door answers 503 with Retry-After: an answer, not a failure.
    responseCallback: asyncAnswered,
  });
  if (response.status === 0) asyncWithoutAnswer.add(1);
  check(response, { 'async: refused with Retry-After when it is a 503': (r) => r.status !== 503 || Boolean(r.headers['Retry-After']) });
  if (check(response, { 'async: accepted (202)': (r) => r.status === 202 })) accepted.add(1, { path: 'async' });
}
