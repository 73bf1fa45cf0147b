// What the boxoffice k6 scripts share: their parameters (params.json, which the autocannon
// benches in tools/bench read too) and the few calls they make to Checkout.
import http from 'k6/http';
import { sleep } from 'k6';

/**
 * @typedef {{ duration: string, target: number }} Stage
 * @typedef {{
 *   capacity: number, purchases: number, quantity: number, connections: number, billingMaxRate: number,
 *   warmup: number, settleTimeoutSeconds: number,
 *   spike: { startRate: number, timeUnit: string, stages: Stage[], preAllocatedVUs: number, maxVUs: number }
 * }} TicketSaleParams
 * @typedef {{ offeredRate: number, durationSeconds: number, connections: number, capacity: number, maxVUs: number }} SyncVsAsyncParams
 * @typedef {{ rates: number[], durationSeconds: number, answerTimeoutSeconds: number, maxVUs: number }} FrontDoorParams
 * @typedef {{
 *   purchases: number, ratePerSecond: number, capacity: number, billingMaxRate: number, maxVUs: number,
 *   answerTimeoutSeconds: number, settleTimeoutSeconds: number, streams: number, followEvery: number
 * }} WaitingRoomParams
 * @typedef {{ PENDING: number, CONFIRMED: number, REJECTED: number, total: number }} OrderCounts
 */

/**
 * Resolved from this module, not from the script k6 was started with (which open() alone would use).
 * @type {{ ticketSale: TicketSaleParams, syncVsAsync: SyncVsAsyncParams, frontDoor: FrontDoorParams, waitingRoom: WaitingRoomParams }}
 */
export const params = JSON.parse(open(import.meta.resolve('../params.json')));

/** Checkout: http://checkout:3000 inside docker compose (the k6 service sets it), the native default otherwise. */
export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:3000';
const ADMIN_KEY = __ENV.ADMIN_API_KEY || 'local-admin-key';
/** The operator's credential: POST /concerts, and the personal data of GET /emails and GET /audit. */
export const ADMIN_HEADERS = { 'x-admin-key': ADMIN_KEY };
const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * Schedules a concert and returns its id.
 * @param {number} capacity
 * @returns {string}
 */
export function scheduleConcert(capacity) {
  const body = JSON.stringify({ name: `k6 ${Date.now()}`, startsAt: '2027-06-01T20:00:00Z', capacity, priceCents: 4500 });
  const response = http.post(`${BASE_URL}/concerts`, body, {
    headers: { ...JSON_HEADERS, ...ADMIN_HEADERS },
    tags: { name: 'POST /concerts' },
  });
  if (response.status !== 201) throw new Error(`POST /concerts answered ${response.status}: ${response.body}`);
  return /** @type {{ id: string }} */ (response.json()).id;
}

/**
 * One purchase of `quantity` seats, with an Idempotency-Key no other request of this run uses.
 * @param {string} path '/orders' or '/orders/sync'
 * @param {string} concertId
 * @param {number} quantity
 * @param {string} key
 * @param {import('k6/http').Params} [extra] more request parameters (a timeout, say)
 */
export function purchase(path, concertId, quantity, key, extra = {}) {
  return http.post(`${BASE_URL}${path}`, JSON.stringify({ concertId, quantity, customerEmail: 'k6@example.com' }), {
    headers: { ...JSON_HEADERS, 'idempotency-key': key },
    tags: { name: `POST ${path}` },
    ...extra,
  });
}

/**
 * The concert's orders by status, from the live dashboard's figures.
 * @param {string} concertId
 * @returns {OrderCounts}
 */
export function ordersOf(concertId) {
  const response = http.get(`${BASE_URL}/dashboard/stats?concertId=${concertId}`, { tags: { name: 'GET /dashboard/stats' } });
  return /** @type {{ concert: { orders: OrderCounts } }} */ (response.json()).concert.orders;
}

/**
 * Polls until no order of the concert is PENDING, or the deadline passes; returns the last counts.
 * @param {string} concertId
 * @param {number} timeoutSeconds
 * @returns {OrderCounts}
 */
export function waitUntilSettled(concertId, timeoutSeconds) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  let orders = ordersOf(concertId);
  while (orders.PENDING > 0 && Date.now() < deadline) {
    sleep(1);
    orders = ordersOf(concertId);
  }
  return orders;
}
