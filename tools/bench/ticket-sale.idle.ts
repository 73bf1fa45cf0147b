// One order at idle, as the README's walk-through places it: the time from POST /orders to
// CONFIRMED when nothing else is going on, which is each hop's own work and waits (the batch
// windows, the relays' pick-up, the brokers, the simulated payment provider) with no queue in
// front of any of them. The sale's fan-out is over by then, so nothing runs beside it.
import { TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { scheduleConcert } from './bench.concerts.ts';
import { asDeployed, prioritiesLine } from './bench.priority.ts';
import { FanoutMailSink } from './fanout.mail-sink.ts';
import { hopsOf, type Hop } from './ticket-sale.hops.ts';

/** Orders placed one after the other, each once the one before it was settled. */
const ORDERS = 30;
/** Between an order's outcome and the next one: the services go back to waiting for work. */
const PAUSE_MS = 200;
/** BENCH_IDLE=only: orders placed the same way first, so that the measured ones meet warm code. */
const WARM_UP_ORDERS = 60;

export interface IdleRun {
  readonly orders: number;
  /** POST /orders to its outcome as the client sees it (the 202, then polling the database every 2 ms): CONFIRMED, or REJECTED for the few the provider declines. */
  readonly clientP50Ms: number;
  readonly clientP99Ms: number;
  readonly hops: ReadonlyArray<Hop>;
}

export async function measureIdle(
  checkout: {
    readonly url: string;
    readonly db: pg.Pool;
    readonly billingDb: pg.Pool;
    readonly scheduleConcert: (capacity: number) => Promise<string>;
  },
  log: (line?: string) => void = console.log,
  orders = ORDERS,
): Promise<IdleRun> {
  log(`\n> idle: ${orders} orders one at a time, each once the one before it is settled`);
  const concertId = await checkout.scheduleConcert(1_000);
  const spans: number[] = [];
  for (let placed = 0; placed < orders; placed += 1) {
    const started = performance.now();
    const response = await fetch(`${checkout.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ concertId, quantity: 1, customerEmail: 'idle@example.com' }),
    });
    if (response.status !== 202) throw new Error(`POST /orders answered ${response.status}: ${await response.text()}`);
    const { orderId } = (await response.json()) as { orderId: string };
    await waitFor(
      () => checkout.db.query<{ status: string }>('SELECT status FROM "order" WHERE id = $1', [orderId]),
      (result) => result.rows[0]?.status === 'CONFIRMED' || result.rows[0]?.status === 'REJECTED',
      { intervalMs: 2, description: `order ${orderId} to be settled` },
    );
    spans.push(performance.now() - started);
    await delay(PAUSE_MS);
  }
  spans.sort((a, b) => a - b);
  const at = (q: number) => Math.round(spans[Math.min(spans.length - 1, Math.floor(q * spans.length))]);
  const { hops, orders: marked } = await hopsOf(concertId, checkout.db, checkout.billingDb);
  log(`  POST /orders → outcome as the client sees it: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (${orders} orders)`);
  for (const hop of hops)
    log(`  ${hop.name.padEnd(30)} p50 ${String(Math.round(hop.p50)).padStart(5)} ms, p99 ${String(Math.round(hop.p99)).padStart(5)} ms`);
  return { orders: marked, clientP50Ms: at(0.5), clientP99Ms: at(0.99), hops };
}

/**
 * BENCH_IDLE=only: the idle orders alone, on a fresh system of the five services, for a quick look
 * at one order's way (the full bench runs the same after its sale).
 */
export async function idleAlone(
  billingMaxRate: number,
  /** Each service's environment as the bench sets it (with `--cpu-prof`, asking for a CPU profile). */
  serviceEnv: (env?: Record<string, string>) => Record<string, string> = (env = {}) => env,
  log: (line?: string) => void = console.log,
): Promise<IdleRun> {
  const system = new TestSystem({});
  const mails = new FanoutMailSink();
  const checkoutDb = new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 2 });
  const billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 });
  try {
    log(`idle alone: the five services, ${prioritiesLine()}`);
    const smtpUrl = await mails.start();
    const services = await Promise.all([
      system.start('checkout', serviceEnv()),
      system.start('billing', serviceEnv({ BILLING_MAX_RATE: String(billingMaxRate) })),
      system.start('email', serviceEnv({ SMTP_URL: smtpUrl }), asDeployed('email')),
      system.start('analytics', serviceEnv(), asDeployed('analytics')),
      system.start('audit', serviceEnv(), asDeployed('audit')),
    ]);
    const [checkout] = services;
    const target = {
      url: checkout.url,
      db: checkoutDb,
      billingDb,
      scheduleConcert: (capacity: number) => scheduleConcert(checkout.url, billingDb, capacity),
    };
    // Warmed up first, as after the full bench's sale: a fresh process runs its first requests cold.
    log(`> warm-up: ${WARM_UP_ORDERS} orders the same way, not counted`);
    await measureIdle(target, () => {}, WARM_UP_ORDERS);
    const run = await measureIdle(target, log);
    // Stopped gracefully: Node writes a CPU profile only on a normal exit (the teardown kills).
    await Promise.all(services.map((service) => service.stop()));
    log(
      JSON.stringify({
        idle: { ...run, hops: run.hops.map(({ name, p50, p99 }) => ({ name, p50Ms: Math.round(p50), p99Ms: Math.round(p99) })) },
      }),
    );
    return run;
  } finally {
    await mails.stop().catch(() => {});
    await Promise.all([checkoutDb.end(), billingDb.end()]);
    await system.teardown();
  }
}
