// The front door under an open model: POST /orders offered at each of `frontDoor.rates` for
// `durationSeconds`, one rate after the other, by arrivals that do not wait for answers
// (constant-arrival-rate). Checkout admits what it can commit in time (ACCEPT_MAX_IN_FLIGHT) and
// answers the rest 503 with Retry-After at once; what must never happen is a request without an
// answer (a reset connection, a timeout) or any other answer. bench:ticket-sale measures the
// same (BENCH_FRONT_DOOR=only npm run bench:ticket-sale), with undici as the open model.
//
//   docker compose --profile loadtest run --rm k6 run /k6/front-door.js
//
// Parameters: params.json, `frontDoor`.
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { params, purchase, scheduleConcert } from './lib/checkout.js';

const run = params.frontDoor;
const accepted = new Counter('purchases_accepted');
const turnedAway = new Counter('purchases_turned_away');
const withoutAnswer = new Counter('front_door_without_answer');
const unexpected = new Counter('front_door_unexpected_answer');

// A 503 with Retry-After is the front door working, not a failed request.
http.setResponseCallback(http.expectedStatuses(202, 503));

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: Object.fromEntries(
    run.rates.map((rate, i) => [
      `offered${rate}`,
      /** @type {import('k6/options').ConstantArrivalRateScenario} */ ({
        executor: 'constant-arrival-rate',
        exec: 'buy',
        // One after the other, each after the last one's graceful stop.
        startTime: `${i * (run.durationSeconds + run.answerTimeoutSeconds)}s`,
        rate,
        timeUnit: '1s',
        duration: `${run.durationSeconds}s`,
        preAllocatedVUs: Math.min(run.maxVUs, rate),
        maxVUs: run.maxVUs,
        gracefulStop: `${run.answerTimeoutSeconds}s`,
      }),
    ]),
  ),
  thresholds: {
    front_door_without_answer: ['count==0'],
    front_door_unexpected_answer: ['count==0'],
    http_req_failed: ['rate==0'],
    purchases_accepted: [],
    purchases_turned_away: [],
  },
};

export function setup() {
  return { concertId: scheduleConcert(1_000_000) };
}

/** @param {{ concertId: string }} data */
export function buy(data) {
  const response = purchase('/orders', data.concertId, 1, `k6-front-door-${data.concertId}-${exec.scenario.iterationInTest}`, {
    timeout: `${run.answerTimeoutSeconds}s`,
  });
  if (response.status === 0) withoutAnswer.add(1);
  else if (response.status === 202) accepted.add(1);
  else if (response.status === 503 && response.headers['Retry-After']) turnedAway.add(1);
  else unexpected.add(1);
  check(response, {
    'front door: 202, or 503 with Retry-After': (r) => r.status === 202 || (r.status === 503 && Boolean(r.headers['Retry-After'])),
  });
}
