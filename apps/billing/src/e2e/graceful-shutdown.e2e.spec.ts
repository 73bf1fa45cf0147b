import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import pg from 'pg';

/** SHUTDOWN_TIMEOUT_MS's default: the one budget of a shutdown, SIGTERM to exit. */
const BUDGET_MS = 8_000;
/** What `docker stop` waits for before its SIGKILL, unless told otherwise. */
const DOCKER_GRACE_MS = 10_000;
const ORDERS = 6;

interface Stopping {
  /** What GET /health/ready answered first after the SIGTERM, and how soon. */
  readonly readiness: { status: number; body: { error?: Record<string, { message?: string }> }; afterMs: number };
  /** GET /health/live at that moment. */
  readonly liveness: number;
  /** Charges Billing had committed at that moment. */
  readonly jobsDoneThen: number;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

// The end `docker stop` (or a rolling deploy) gives a service, in the middle of its work: a batch
// of charges waits on a slow payment provider (PAYMENT_LATENCY_MS) when the SIGTERM comes.
describe('when Billing gets SIGTERM in the middle of a slow batch', () => {
  const system = new TestSystem();
  let checkoutUrl: string;
  let checkoutDb: pg.Pool;
  let billingDb: pg.Pool;
  let concertId: string;

  beforeAll(async () => {
    const checkout = await system.start('checkout');
    checkoutUrl = checkout.url;
    checkoutDb = new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 2 });
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 });
    const concert = await post(
      '/concerts',
      { name: 'Last Orders', startsAt: '2027-06-01T20:00:00Z', capacity: 1_000, priceCents: 2_000 },
      { 'x-admin-key': 'local-admin-key' },
    );
    expect(concert.status).toBe(201);
    concertId = ((await concert.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await Promise.all([checkoutDb.end(), billingDb.end()]);
    await system.teardown();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${checkoutUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  const startBilling = async (paymentLatencyMs: number) => {
    const billing = await system.start('billing', { PAYMENT_LATENCY_MS: String(paymentLatencyMs), PAYMENT_DECLINE_RATE: '0' });
    // Billing learns of the concert through Kafka; a charge before that would wait for it.
    await waitFor(
      async () => (await billingDb.query('SELECT 1 FROM seat_inventory WHERE concert_id = $1', [concertId])).rowCount,
      (rows) => rows === 1,
      { description: 'Billing to know the concert' },
    );
    return billing;
  };

  const placeOrders = async (count: number): Promise<string[]> => {
    const responses = await Promise.all(
      Array.from({ length: count }, () =>
        post('/orders', { concertId, quantity: 1, customerEmail: 'buyer@example.com' }, { 'idempotency-key': randomUUID() }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(count).fill(202));
    return Promise.all(responses.map(async (r) => ((await r.json()) as { orderId: string }).orderId));
  };

  const jobsDone = async (billing: ServiceProcess) =>
    ((await (await fetch(`${billing.url}/charges/jobs`)).json()) as { jobsDone: number }).jobsDone;

  /**
   * Every charge taken into a batch (the rate limiter hands out a permit each), and the last batch
   * not yet committed: it waits on the provider for PAYMENT_LATENCY_MS from about now.
   */
  const inFlight = async (billing: ServiceProcess, count: number) => {
    await takenIntoBatches(billing, count);
    expect(await jobsDone(billing)).toBeLessThan(count);
  };

  /** This process has taken `count` charges into its batches: the rate limiter hands out a permit each. */
  const takenIntoBatches = (billing: ServiceProcess, count: number) => {
    const permits = async () => {
      const metrics = await (await fetch(`${billing.url}/metrics`)).text();
      return Number(/^boxoffice_rate_limiter_permits_total(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? 0);
    };
    return waitFor(permits, (n) => n >= count, { description: `${count} charges to be taken into batches` });
  };

  const sigterm = async (billing: ServiceProcess): Promise<Stopping> => {
    const exited = once(billing.child, 'exit');
    const sentAt = performance.now();
    billing.child.kill('SIGTERM');
    const exit = exited.then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      afterMs: performance.now() - sentAt,
    }));
    // The signal and the request race to the process: a few ms of grace, no more.
    const readiness = await waitFor(
      async () => {
        const ready = await fetch(`${billing.url}/health/ready`);
        return { status: ready.status, body: (await ready.json()) as Stopping['readiness']['body'], afterMs: performance.now() - sentAt };
      },
      (answer) => answer.status === 503,
      { timeoutMs: 1_000, intervalMs: 10, description: '/health/ready to answer 503' },
    );
    const [liveness, jobsDoneThen] = await Promise.all([fetch(`${billing.url}/health/live`).then((r) => r.status), jobsDone(billing)]);
    return { readiness, liveness, jobsDoneThen, exit };
  };

  const chargesOf = async (orderIds: ReadonlyArray<string>) =>
    (
      await billingDb.query(
        `SELECT count(*)::int AS charges, count(DISTINCT order_id)::int AS orders, count(*) FILTER (WHERE status = 'CAPTURED')::int AS captured
           FROM charge WHERE order_id = ANY($1::uuid[])`,
        [orderIds],
      )
    ).rows[0] as { charges: number; orders: number; captured: number };

  const confirmed = (orderIds: ReadonlyArray<string>) =>
    waitFor(
      async () =>
        (await checkoutDb.query(`SELECT count(*)::int AS n FROM "order" WHERE id = ANY($1::uuid[]) AND status = 'CONFIRMED'`, [orderIds]))
          .rows[0].n as number,
      (n) => n === orderIds.length,
      { description: 'every order to be confirmed' },
    );

  describe('when the batch can finish within the budget', () => {
    let orders: string[];
    let stopping: Stopping;
    let billing: ServiceProcess;

    beforeAll(async () => {
      billing = await startBilling(1_500);
      orders = await placeOrders(ORDERS);
      await inFlight(billing, ORDERS);
      stopping = await sigterm(billing);
    });

    it('answers 503 "shutting down" on /health/ready at once, while the batch is still running, and stays live', () => {
      expect(stopping.readiness).toMatchObject({ status: 503, body: { error: { shutdown: { message: 'shutting down' } } } });
      expect(stopping.readiness.afterMs).toBeLessThan(1_000);
      expect(stopping.jobsDoneThen).toBeLessThan(ORDERS);
      expect(stopping.liveness).toBe(200);
    });

    it('exits 0 within its budget, well inside Docker’s grace', async () => {
      const exit = await stopping.exit;
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
      expect(exit.afterMs).toBeLessThan(BUDGET_MS);
      expect(exit.afterMs).toBeLessThan(DOCKER_GRACE_MS);
      expect(billing.output()).not.toMatch(/abandoned/);
    });

    it('commits the batch in flight: every order charged once', async () => {
      await stopping.exit;
      await expect(chargesOf(orders)).resolves.toEqual({ charges: ORDERS, orders: ORDERS, captured: ORDERS });
    });

    it('publishes what it committed before it goes: its outbox is empty, and Checkout confirms the orders while Billing is down', async () => {
      await stopping.exit;
      const { rows } = await billingDb.query(`SELECT count(*)::int AS n FROM outbox_message WHERE status <> 'published'`);
      expect(rows).toEqual([{ n: 0 }]);
      await expect(confirmed(orders)).resolves.toBe(ORDERS);
    });
  });

  describe('when the batch outlasts the consumers’ share of the budget', () => {
    let orders: string[];
    let stopping: Stopping;
    let billing: ServiceProcess;

    beforeAll(async () => {
      billing = await startBilling(60_000);
      orders = await placeOrders(ORDERS);
      // With one message at a time after a connect (RabbitMQ probation), at least one charge waits on the provider.
      await inFlight(billing, 1);
      stopping = await sigterm(billing);
    });

    it('abandons the batch at the end of the consumers’ share, and still ends by itself within its budget', async () => {
      expect(stopping.readiness).toMatchObject({ status: 503, body: { error: { shutdown: { message: 'shutting down' } } } });
      const exit = await stopping.exit;
      expect(exit.signal).toBeNull();
      // Exit 0: every hook ended within its phase, the charge sweeper's too (it waits on the same
      // slow provider, and gives up its round at the consumers' share). Never Docker's SIGKILL.
      expect(exit.code).toBe(0);
      expect(exit.afterMs).toBeLessThan(DOCKER_GRACE_MS);
      expect(billing.output()).toMatch(/abandoned the batches rabbitmq consumer \S*billing still had in flight/);
      // The batch took its phase and no more: the relay and the broker connections had theirs. (The
      // database's pool may close late: the sweeper's abandoned round holds a connection while it
      // waits on the provider, and the exit ends it.)
      expect(billing.output()).not.toMatch(/abandoned the outbox relay|connections and the outbox pool were still closing/);
    });

    it('commits nothing of it, and the broker delivers it again to the next Billing, which charges no order twice', async () => {
      await stopping.exit;
      await expect(chargesOf(orders)).resolves.toEqual({ charges: 0, orders: 0, captured: 0 });
      const next = await startBilling(10);
      await takenIntoBatches(next, ORDERS);
      const { charges, orders: charged } = await chargesOf(orders);
      expect(charges).toBe(charged);
    });
  });
});
