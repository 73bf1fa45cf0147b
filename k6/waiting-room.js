// The waiting room at the seed's scale: a crowd far larger than the hall hits Buy at once
// (constant-arrival-rate: arrivals do not wait for answers). Every arrival must be answered at
// once: 202 with a place in line, 409 once the seats are all taken by orders in line, or 503
// with Retry-After while the line is too long to join. One accepted buyer in `followEvery`
// follows their order's Server-Sent Events to the end, as their page would: the position must
// never go up, and the outcome must come.
//
//   docker compose --profile loadtest run --rm k6 run /k6/waiting-room.js
//   k6 run k6/waiting-room.js            (natively: BASE_URL defaults to http://127.0.0.1:3000)
//
// k6 reads a response whole, so a follower's request returns when its stream ends, with every
// event in its body. Parameters: params.json, `waitingRoom` (bench:waiting-room offers the same).
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { BASE_URL, params, purchase, scheduleConcert, waitUntilSettled } from './lib/checkout.js';

const room = params.waitingRoom;
const accepted = new Counter('purchases_accepted');
const soldOut = new Counter('purchases_sold_out_at_the_door');
const lineClosed = new Counter('purchases_line_closed');
const unexpected = new Counter('purchases_unexpected_answer');
const positionWentUp = new Counter('waiting_room_position_went_up');
const withoutOutcome = new Counter('waiting_room_stream_without_outcome');
const leftPending = new Counter('orders_left_pending');

// Every one of these is the door working: a place, sold out, or come back later.
http.setResponseCallback(http.expectedStatuses(200, 202, 409, 503));

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    crowd: {
      executor: 'constant-arrival-rate',
      exec: 'buy',
      rate: room.ratePerSecond,
      timeUnit: '1s',
      duration: `${room.purchases / room.ratePerSecond}s`,
      preAllocatedVUs: Math.min(room.maxVUs, room.ratePerSecond),
      maxVUs: room.maxVUs,
      // A follower waits for their outcome: as long as the line is, at most the settle deadline.
      gracefulStop: `${room.settleTimeoutSeconds}s`,
    },
  },
  thresholds: {
    purchases_unexpected_answer: ['count==0'],
    waiting_room_position_went_up: ['count==0'],
    waiting_room_stream_without_outcome: ['count==0'],
    orders_left_pending: ['count==0'],
    http_req_failed: ['rate==0'],
    'http_req_duration{name:POST /orders}': ['p(99)<1000'],
    purchases_accepted: [],
    purchases_sold_out_at_the_door: [],
    purchases_line_closed: [],
  },
  teardownTimeout: `${room.settleTimeoutSeconds + 30}s`,
};

export function setup() {
  return { concertId: scheduleConcert(room.capacity) };
}

/** @param {{ concertId: string }} data */
export function buy(data) {
  const iteration = exec.scenario.iterationInTest;
  const response = purchase('/orders', data.concertId, 1, `k6-waiting-room-${data.concertId}-${iteration}`, {
    timeout: `${room.answerTimeoutSeconds}s`,
  });
  if (response.status === 202) accepted.add(1);
  else if (response.status === 409) soldOut.add(1);
  else if (response.status === 503) lineClosed.add(1);
  const answered = check(response, {
    'a place (202), sold out (409), or come back later (503 with Retry-After)': (r) =>
      r.status === 202 ||
      (r.status === 409 && /** @type {{ reason?: string }} */ (r.json()).reason === 'SOLD_OUT') ||
      (r.status === 503 && Boolean(r.headers['Retry-After'])),
  });
  if (!answered) unexpected.add(1);
  if (response.status === 202 && iteration % room.followEvery === 0)
    follow(/** @type {{ eventsUrl: string }} */ (response.json()).eventsUrl);
}

/**
 * Follows one order's stream to its end and checks what it said.
 * @param {string} eventsUrl
 */
function follow(eventsUrl) {
  const stream = http.get(`${BASE_URL}${eventsUrl}`, {
    headers: { accept: 'text/event-stream' },
    timeout: `${room.settleTimeoutSeconds}s`,
    tags: { name: 'GET /orders/:id/events' },
  });
  const body = typeof stream.body === 'string' ? stream.body : '';
  const blocks = body.split('\n\n');
  const positions = blocks
    .filter((block) => block.startsWith('event: place'))
    .map((block) => /** @type {{ position: number }} */ (JSON.parse(block.slice(block.indexOf('data: ') + 6))).position);
  for (let i = 1; i < positions.length; i++) if (positions[i] > positions[i - 1]) positionWentUp.add(1);
  const outcome = blocks.find((block) => block.startsWith('event: outcome'));
  if (!outcome) withoutOutcome.add(1);
  check(stream, {
    'the stream ends with the outcome': () => Boolean(outcome),
    'the position never goes up': () => positions.every((p, i) => i === 0 || p <= positions[i - 1]),
  });
}

/** @param {{ concertId: string }} data */
export function teardown(data) {
  const orders = waitUntilSettled(data.concertId, room.settleTimeoutSeconds);
  leftPending.add(orders.PENDING);
  console.log(
    `orders: ${orders.total} accepted, ${orders.CONFIRMED} confirmed, ${orders.REJECTED} rejected, ${orders.PENDING} still pending`,
  );
  check(orders, {
    'every order settled': (o) => o.PENDING === 0,
    'no more seats sold than the hall holds': (o) => o.CONFIRMED <= room.capacity,
  });
}
