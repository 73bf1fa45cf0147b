import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

interface JobStats {
  instance: string;
  jobsDone: number;
}

const ORDERS = 200;

// Point-to-point: each ChargeOrder in billing.charge-order goes to exactly one of the instances
// consuming it, so adding instances adds throughput without charging anyone twice.
describe('when two Billing instances share the charge queue', () => {
  const system = new TestSystem();
  let checkoutUrl: string;
  let billings: ServiceProcess[];
  let checkoutDb: pg.Pool;
  let billingDb: pg.Pool;

  beforeAll(async () => {
    // A low rate per instance, so that neither can empty the queue before the other takes its share.
    const billingEnv = { BILLING_MAX_RATE: '100', PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '5' };
    const [checkout, ...started] = await Promise.all([
      system.start('checkout'),
      system.start('billing', billingEnv),
      system.start('billing', billingEnv),
    ]);
    checkoutUrl = checkout.url;
    billings = started;
    checkoutDb = new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 2 });
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 });
  });
  afterAll(async () => {
    await Promise.all([checkoutDb.end(), billingDb.end()]);
    await system.teardown();
  });

  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${checkoutUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const jobsOf = async (billing: ServiceProcess) => (await (await fetch(`${billing.url}/charges/jobs`)).json()) as JobStats;

  it('charges every order exactly once, and both instances do part of the work', async () => {
    const concert = await post(
      '/concerts',
      { name: 'Two Rooms', startsAt: '2027-06-01T20:00:00Z', capacity: 1_000, priceCents: 2_000 },
      { 'x-admin-key': 'local-admin-key' },
    );
    expect(concert.status).toBe(201);
    const { id: concertId } = (await concert.json()) as { id: string };
    // On sale once Billing knows the concert. A ChargeOrder that came before its ConcertScheduled
    // would wait for it and go back on the queue as a new job when it comes: charged once still,
    // but counted as a job twice, which the sum below does not allow for.
    await waitFor(
      async () =>
        (await billingDb.query('SELECT count(*)::int AS n FROM seat_inventory WHERE concert_id = $1', [concertId])).rows[0].n as number,
      (n) => n === 1,
      { description: 'Billing to know the concert' },
    );

    for (let placed = 0; placed < ORDERS; placed += 20) {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          post('/orders', { concertId, quantity: 1, customerEmail: 'buyer@example.com' }, { 'idempotency-key': randomUUID() }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
    }
    await waitFor(
      async () => (await checkoutDb.query(`SELECT count(*)::int AS n FROM "order" WHERE status = 'PENDING'`)).rows[0].n as number,
      (pending) => pending === 0,
      { description: 'every order to settle' },
    );

    const { rows: charges } = await billingDb.query(
      `SELECT count(*)::int AS charges, count(DISTINCT order_id)::int AS orders, count(*) FILTER (WHERE status = 'CAPTURED')::int AS captured FROM charge`,
    );
    expect(charges).toEqual([{ charges: ORDERS, orders: ORDERS, captured: ORDERS }]);
    const { rows: confirmed } = await checkoutDb.query(`SELECT count(*)::int AS n FROM "order" WHERE status = 'CONFIRMED'`);
    expect(confirmed).toEqual([{ n: ORDERS }]);

    const jobs = await Promise.all(billings.map(jobsOf));
    expect(new Set(jobs.map((j) => j.instance)).size).toBe(2);
    expect(jobs.map((j) => j.jobsDone).reduce((a, b) => a + b)).toBe(ORDERS);
    for (const { jobsDone } of jobs) expect(jobsDone).toBeGreaterThan(0);
  });
});
