// The ticket sale as a spike: purchases arrive at a rising, then falling, rate (an open model:
// arrivals do not wait for answers), as when a popular concert goes on sale. Checkout must answer
// every one quickly however far Billing is behind: 202 while there are seats, 409 SOLD_OUT at the
// door once the orders in line hold them all; at the end, every order must settle.
//
//   docker compose --profile loadtest run --rm k6 run /k6/ticket-sale.js
//   k6 run k6/ticket-sale.js            (natively: BASE_URL defaults to http://127.0.0.1:3000)
//
// Watch it live at <BASE_URL>/dashboard: the charge queue fills during the spike and drains at
// Billing's BILLING_MAX_RATE after it. Parameters: params.json, `ticketSale`.
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { params, purchase, scheduleConcert, waitUntilSettled } from './lib/checkout.js';

const sale = params.ticketSale;
/** Orders still PENDING when the settle deadline passed: must stay 0. */
const leftPending = new Counter('orders_left_pending');
const soldOutAtTheDoor = new Counter('purchases_sold_out_at_the_door');

// A sold-out answer at the door is the sale working, not a failed request.
http.setResponseCallback(http.expectedStatuses(202, 409));

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      exec: 'buy',
      startRate: sale.spike.startRate,
      timeUnit: sale.spike.timeUnit,
      stages: sale.spike.stages,
      preAllocatedVUs: sale.spike.preAllocatedVUs,
      maxVUs: sale.spike.maxVUs,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    'http_req_duration{name:POST /orders}': ['p(99)<250'],
    orders_left_pending: ['count<1'],
    purchases_sold_out_at_the_door: [],
  },
  // The teardown waits for Billing to drain what the spike queued.
  teardownTimeout: `${sale.settleTimeoutSeconds + 30}s`,
};

export function setup() {
  return { concertId: scheduleConcert(sale.capacity) };
}

/** @param {{ concertId: string }} data */
export function buy(data) {
  const key = `k6-${data.concertId}-${exec.scenario.iterationInTest}`;
  const response = purchase('/orders', data.concertId, sale.quantity, key);
  if (response.status === 409) soldOutAtTheDoor.add(1);
  check(response, {
    'accepted (202), or sold out at the door (409)': (r) =>
      r.status === 202 || (r.status === 409 && /** @type {{ reason?: string }} */ (r.json()).reason === 'SOLD_OUT'),
  });
}

/** @param {{ concertId: string }} data */
export function teardown(data) {
  const orders = waitUntilSettled(data.concertId, sale.settleTimeoutSeconds);
  leftPending.add(orders.PENDING);
  console.log(
    `orders: ${orders.total} accepted, ${orders.CONFIRMED} confirmed, ${orders.REJECTED} rejected, ${orders.PENDING} still pending`,
  );
  check(orders, {
    'every order settled': (o) => o.PENDING === 0,
    'accepted = confirmed + rejected': (o) => o.total === o.CONFIRMED + o.REJECTED,
  });
}
