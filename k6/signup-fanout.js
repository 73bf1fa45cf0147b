// Sign-ups under load, and how long the fan-out takes to catch up with them.
//
//   k6 run k6/signup-fanout.js                       (the services on localhost, e.g. `npm start`)
//   K6_SCRIPT=signup-fanout.js docker compose --profile loadtest run --rm k6
//
// Each iteration signs one user up (POST /users on Checkout, 202). Checkout answers as soon as the
// user and its UserRegistered event are committed; Email, Analytics and Audit each consume the
// event in their own time. When the load is over, teardown() waits until every subscriber has
// caught up and reports how long that took, per subscriber (fanout_catch_up_ms):
//   Analytics: GET /stats counts every new sign-up;
//   Audit:     GET /audit?type=UserRegistered&since=... lists every one of them;
//   Email:     a sample of the new users each has a SENT welcome mail (GET /emails?to=...).
//
// Settings: k6/params.json, key `signupFanout`. Checkout is BASE_URL (default http://localhost:3000);
// the others are found next to it (ports 3002-3004, or hosts email/analytics/audit when BASE_URL is
// http://checkout:3000 as in docker compose), or set EMAIL_URL, ANALYTICS_URL, AUDIT_URL.
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Trend } from 'k6/metrics';

const params = JSON.parse(open('./params.json')).signupFanout;
const BASE_URL = __ENV.BASE_URL || 'http://localhost:3000';

/** @param {string} service @param {number} port */
function sibling(service, port) {
  const override = __ENV[`${service.toUpperCase()}_URL`];
  if (override) return override;
  return BASE_URL.includes('//checkout:')
    ? BASE_URL.replace(/\/\/checkout:\d+/, `//${service}:${port}`)
    : BASE_URL.replace(/:\d+$/, `:${port}`);
}
const EMAIL_URL = sibling('email', 3002);
const ANALYTICS_URL = sibling('analytics', 3003);
const AUDIT_URL = sibling('audit', 3004);
/** The audit log and the mails are personal data: reading them takes the operator's key. */
const ADMIN_HEADERS = { 'x-admin-key': __ENV.ADMIN_API_KEY || 'local-admin-key' };

const catchUp = new Trend('fanout_catch_up_ms', true);

export const options = {
  scenarios: {
    signups: {
      executor: 'shared-iterations',
      vus: params.vus,
      iterations: params.signups,
      maxDuration: `${params.maxDurationSeconds}s`,
    },
  },
  // teardown() waits for the subscribers; give it the time the parameters allow.
  teardownTimeout: `${params.catchUpTimeoutSeconds + 30}s`,
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:POST /users}': [`p(95)<${params.p95Ms}`],
    checks: ['rate>0.99'],
  },
};

/** @param {string} runId @param {number} n */
const addressOf = (runId, n) => `fan-${runId}-${n}@k6.example`;

export function setup() {
  const stats = http.get(`${ANALYTICS_URL}/stats`);
  check(stats, { 'Analytics answers': (r) => r.status === 200 });
  return { runId: String(Date.now()), since: new Date().toISOString(), signupsBefore: stats.json('signups.total') };
}

/** @param {{ runId: string }} data */
export default function (data) {
  const response = http.post(
    `${BASE_URL}/users`,
    JSON.stringify({ email: addressOf(data.runId, exec.scenario.iterationInTest), name: `Fan ${exec.scenario.iterationInTest}` }),
    { headers: { 'content-type': 'application/json' }, tags: { name: 'POST /users' } },
  );
  check(response, { 'sign-up accepted (202)': (r) => r.status === 202 });
}

/** @param {{ runId: string, since: string, signupsBefore: number }} data */
export function teardown(data) {
  const expected = params.signups;
  const started = Date.now();
  const deadline = started + params.catchUpTimeoutSeconds * 1000;
  const pending = {
    analytics: () => Number(http.get(`${ANALYTICS_URL}/stats`).json('signups.total')) - data.signupsBefore >= expected,
    audit: () => countAudited(data.since) >= expected,
    email: () => sampleOf(expected).every((n) => welcomeSent(addressOf(data.runId, n))),
  };
  /** @type {Record<string, boolean>} */
  const caughtUp = {};
  while (Object.keys(caughtUp).length < 3 && Date.now() < deadline) {
    for (const [subscriber, done] of Object.entries(pending)) {
      if (caughtUp[subscriber] || !done()) continue;
      caughtUp[subscriber] = true;
      catchUp.add(Date.now() - started, { subscriber });
    }
    sleep(1);
  }
  check(caughtUp, {
    'Analytics counted every sign-up': (c) => c.analytics === true,
    'Audit recorded every sign-up': (c) => c.audit === true,
    'Email welcomed every sampled user': (c) => c.email === true,
  });
}

/** Every UserRegistered in Audit's log since `since`, page by page. @param {string} since */
function countAudited(since) {
  let total = 0;
  let cursor = '';
  for (;;) {
    const page = http.get(
      `${AUDIT_URL}/audit?type=UserRegistered&since=${encodeURIComponent(since)}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      { headers: ADMIN_HEADERS },
    );
    const entries = /** @type {unknown[]} */ (page.json('entries'));
    total += entries.length;
    const next = page.json('nextCursor');
    if (!next) return total;
    cursor = String(next);
  }
}

/** Up to params.emailSamples iteration numbers spread over the run, the last one included. @param {number} n */
function sampleOf(n) {
  const samples = Math.min(n, params.emailSamples);
  return Array.from({ length: samples }, (_, i) => Math.floor(((i + 1) * n) / samples) - 1);
}

/** @param {string} address */
function welcomeSent(address) {
  const emails = /** @type {Array<{ kind: string, status: string }>} */ (
    http.get(`${EMAIL_URL}/emails?to=${encodeURIComponent(address)}`, { headers: ADMIN_HEADERS }).json('emails')
  );
  return emails.some((mail) => mail.kind === 'welcome' && mail.status === 'SENT');
}
