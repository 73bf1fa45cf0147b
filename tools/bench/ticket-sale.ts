// `npm run bench:ticket-sale`: the ticket sale under a spike, measured end to end.
//
//   1. All five services run as processes in a fresh namespace with fresh databases (TestSystem),
//      as `npm start` runs them; Email sends to a mail sink in this process.
//   2. Baseline: a minimal node:http + pg server doing only the two inserts a 202 needs, one
//      transaction per request (tools/bench/baseline.server.ts), under the same load.
//   3. The sale: a concert of `capacity` seats, `purchases` POST /orders offered by autocannon at
//      `spikeRate`, while Billing drains the charge queue at BILLING_MAX_RATE. Sampled every half
//      second: the queue depth, the outbox, the orders by status. Then the tally from both
//      databases: every accepted order settled, seats sold = capacity, no order charged twice; and
//      the CPU every process involved spent on it (/proc: the services, PostgreSQL, RabbitMQ,
//      Kafka), per order settled.
//   3a. Idle: once the sale's fan-out is over, orders one at a time, each once the one before is
//      settled: POST /orders to CONFIRMED with nothing else going on, hop by hop (ticket-sale.idle.ts).
//   3b. Steady: `steadyRate` purchases a second for `steadySeconds`, offered by an open model (arrivals
//      that do not wait for answers, open-model.load.ts), and the time from each one's
//      202 to its CONFIRMED (the order's created_at to settled_at), p50 and p99, and where that
//      time goes, hop by hop (ticket-sale.hops.ts).
//   3c. The front door: POST /orders offered by an open model at each of `frontDoor.rates` (as k6's
//      arrival-rate executors do): every request a 202 or a 503 with Retry-After, no reset, no
//      request without an answer (ticket-sale.front-door.ts; BENCH_FRONT_DOOR=only runs it alone).
//   4. Sync vs async: the same offered rate against POST /orders/sync (waits for Billing) and
//      POST /orders (waits for the commit only), Billing still capped: each alone, then both at
//      once, to see how much of its rate the async path keeps while the sync path is hammered.
//      Once with Checkout's fail-fast policies on, once on a Checkout restarted with
//      SYNC_POLICIES=off (docs/patterns/sync-vs-async.md). BENCH_SYNC_VS_ASYNC=off leaves it out.
//      BENCH_SYNC=only runs the synchronous path alone instead, Checkout and Billing only, in an
//      open model (ticket-sale.sync-alone.ts).
//
// Each phase after the sale starts from vacuumed and analyzed tables (bench.vacuum.ts), and says so.
// BENCH_IDLE=only runs the idle orders alone (3a), on a fresh system.
// BENCH_TRACING=compare runs only the sale, with tracing off and then on (ticket-sale.tracing.ts).
// `-- --cpu-prof`: every service process writes a V8 CPU profile when it stops, into
// results/cpu-profiles-<time>/ (open one in Chrome DevTools' Performance panel, or speedscope).
//
// Parameters: k6/params.json (shared with the k6 scripts). Writes results/ticket-sale-<time>.json
// and .svg; the last line printed is one JSON object with every figure.
import { freePort, TestSystem } from '@boxoffice/e2e';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { fire, type LoadResult } from './autocannon.load.ts';
import { scheduleConcert as scheduleConcertOn } from './bench.concerts.ts';
import { ensureBenchServers } from './bench.servers.ts';
import { FanoutMailSink } from './fanout.mail-sink.ts';
import { coresUsed, cpuBetween, cpuSnapshot } from './process.cpu.ts';
import { hopsOf } from './ticket-sale.hops.ts';
import { readParams } from './params.reader.ts';
import { renderChart } from './svg.chart.ts';
import { frontDoorAlone, measureFrontDoor } from './ticket-sale.front-door.ts';
import { offer } from './open-model.load.ts';
import { idleAlone, measureIdle } from './ticket-sale.idle.ts';
import { syncAlone } from './ticket-sale.sync-alone.ts';
import { compareTracing } from './ticket-sale.tracing.ts';
import { asDeployed, prioritiesLine } from './bench.priority.ts';
import { vacuumServices } from './bench.vacuum.ts';

const { ticketSale: sale, syncVsAsync: comparison, frontDoor } = readParams();

/** With `--cpu-prof`, where the services write their CPU profiles; null without. */
const cpuProfiles = process.argv.includes('--cpu-prof') ? `results/cpu-profiles-${new Date().toISOString().replace(/[:.]/g, '-')}` : null;
/** A service's environment, asking Node for a CPU profile at exit when `--cpu-prof` was given. */
const profiled = (env: Record<string, string> = {}): Record<string, string> =>
  cpuProfiles ? { ...env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfiles}` } : env;
// Every mode needs PostgreSQL and the brokers: started here if they are not up.
await ensureBenchServers('bench:ticket-sale');
// BENCH_TRACING=compare: the sale with tracing off, then on, side by side, and nothing else.
if (process.env.BENCH_TRACING === 'compare') {
  await compareTracing(sale);
  process.exit(0);
}
// BENCH_SYNC=only: the synchronous path alone, on a fresh system.
if (process.env.BENCH_SYNC === 'only') {
  await syncAlone(comparison, sale);
  process.exit(0);
}
// BENCH_IDLE=only: one order at a time alone, on a fresh system.
if (process.env.BENCH_IDLE === 'only') {
  await idleAlone(sale.billingMaxRate, profiled);
  process.exit(0);
}
// BENCH_FRONT_DOOR=only: the open-model front door alone, on a fresh system.
if (process.env.BENCH_FRONT_DOOR === 'only') {
  const runs = await frontDoorAlone(frontDoor, sale, profiled);
  process.exit(runs.every((run) => run.met) ? 0 : 1);
}
/** Checkout's Prisma pool (checkout.module.ts): the baseline gets as many connections. */
const CHECKOUT_POOL_SIZE = 20;
const SAMPLE_EVERY_MS = 500;
/** Checkout's default, set explicitly: the sync path's p99 is read against it. */
const SYNC_TIMEOUT_MS = 2_000;
/** Beside the sync load, the async path keeps at least this share of its rate alone. */
const ASYNC_KEPT_GOAL = 0.8;

interface Sample {
  /** Seconds since the sale's first request. */
  readonly t: number;
  readonly queueDepth: number | null;
  readonly outboxPending: number;
  readonly orders: { PENDING: number; CONFIRMED: number; REJECTED: number; total: number };
}

const log = (line = '') => console.log(line);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

// Full-size pools: the bench runs alone and measures the services as they are configured.
const system = new TestSystem({});
const pools: pg.Pool[] = [];
let baselineServer: ChildProcess | undefined;
const mailSink = new FanoutMailSink();
let baselineDb: TestDatabase | undefined;

// Ctrl-C in the middle must not leave services running and databases behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping the services and dropping the bench's databases`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  log(
    `ticket-sale bench: ${sale.purchases.toLocaleString('en')} purchases for ${sale.capacity.toLocaleString('en')} seats, ${sale.connections} connections, Billing at ${sale.billingMaxRate}/s; ${prioritiesLine()}`,
  );
  const billingPort = await freePort();
  const smtpUrl = await mailSink.start();
  const [firstCheckout, billing, ...subscribers] = await Promise.all([
    system.start('checkout', profiled({ BILLING_URL: `http://127.0.0.1:${billingPort}`, SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS) })),
    // Both doors capped alike, so the sync comparison asks Billing for no more than the queue gets.
    system.start(
      'billing',
      profiled({
        PORT: String(billingPort),
        BILLING_MAX_RATE: String(sale.billingMaxRate),
        BILLING_SYNC_MAX_RATE: String(sale.billingMaxRate),
      }),
    ),
    system.start('email', profiled({ SMTP_URL: smtpUrl }), asDeployed('email')),
    system.start('analytics', profiled(), asDeployed('analytics')),
    system.start('audit', profiled(), asDeployed('audit')),
  ]);
  let checkout = firstCheckout;
  /** The services' pids, for the CPU account: Checkout's may change (the sync comparison restarts it). */
  const servicePids = () => new Map([checkout, billing, ...subscribers].map((service) => [service.child.pid!, service.name]));
  if (cpuProfiles)
    log(
      `CPU profiles: ${cpuProfiles}/CPU.<date>.<pid>.*.cpuprofile, written as each service stops (` +
        [...servicePids()].map(([pid, name]) => `${name} ${pid}`).join(', ') +
        '; a Checkout restarted for the sync comparison writes one of its own)',
    );
  const checkoutDb = pool(system.databaseUrl('checkout'));
  const billingDb = pool(system.databaseUrl('billing'));
  const body = (concertId: string) => ({ concertId, quantity: sale.quantity, customerEmail: 'buyer@example.com' });

  const scheduleConcert = (capacity: number) => scheduleConcertOn(checkout.url, billingDb, capacity);

  const pendingOf = async (concertId: string) =>
    (
      await checkoutDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE concert_id = $1 AND status = 'PENDING'`, [
        concertId,
      ])
    ).rows[0].n;

  // ---- warm-up: both servers are measured warm (JIT, pools, caches) --------------------------
  // Its orders also leave Billing a backlog, which it drains at its configured rate while the
  // baseline runs: Checkout's sale is measured while Billing drains (and Checkout settles what it
  // charged), so the baseline is measured with the same work going on beside it.
  log('\n> warm-up');
  const warmConcert = await scheduleConcert(1_000_000);
  await fire({
    url: `${checkout.url}/orders`,
    body: body(warmConcert),
    connections: sale.connections,
    amount: sale.warmup,
    acceptedStatus: 202,
  });

  // ---- baseline ------------------------------------------------------------------------------
  log(
    `> baseline: node:http + pg, one transaction per request, while Billing drains the warm-up (${await pendingOf(warmConcert)} pending)`,
  );
  baselineDb = await createMigratedTestDatabase('bench_baseline', 'apps/checkout/prisma/migrations');
  const baselineConcert = randomUUID();
  await baselineDb.pool.query(`INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Baseline', now(), $2, 4500)`, [
    baselineConcert,
    sale.capacity,
  ]);
  const baselineUrl = await startBaseline(baselineDb.url);
  await fire({
    url: `${baselineUrl}/orders`,
    body: body(baselineConcert),
    connections: sale.connections,
    amount: sale.warmup,
    acceptedStatus: 202,
  });
  const baseline = await fire({
    url: `${baselineUrl}/orders`,
    body: body(baselineConcert),
    connections: sale.connections,
    amount: sale.purchases,
    acceptedStatus: 202,
  });
  printLoad('baseline', baseline);
  const pendingAfterBaseline = await pendingOf(warmConcert);
  log(
    `  (${pendingAfterBaseline} warm-up orders still pending when it ended${pendingAfterBaseline === 0 ? ': the drain ended before the baseline did' : ''})`,
  );
  await stopBaseline();
  await waitFor(
    () => pendingOf(warmConcert),
    (n) => n === 0,
    { timeoutMs: 120_000, intervalMs: 250, description: 'the warm-up orders to settle' },
  );

  // ---- the sale ------------------------------------------------------------------------------
  log('\n> the sale: as fast as Checkout accepts, while Billing drains');
  const concertId = await scheduleConcert(sale.capacity);
  const samples: Sample[] = [];
  const startedAt = Date.now();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const next = Date.now() + SAMPLE_EVERY_MS;
      try {
        const response = await fetch(`${checkout.url}/dashboard/stats?concertId=${concertId}`);
        const stats = (await response.json()) as {
          queueDepth: number | null;
          outboxPending: number;
          concert: { orders: Sample['orders'] };
        };
        samples.push({
          t: (Date.now() - startedAt) / 1_000,
          queueDepth: stats.queueDepth,
          outboxPending: stats.outboxPending,
          orders: stats.concert.orders,
        });
      } catch {
        // A missed sample is a gap in the chart, not a failed run.
      }
      await delay(Math.max(0, next - Date.now()));
    }
  })();

  const cpuBefore = cpuSnapshot(servicePids());
  const load = await fire({
    url: `${checkout.url}/orders`,
    body: body(concertId),
    connections: sale.connections,
    amount: sale.purchases,
    overallRate: sale.spikeRate,
    acceptedStatus: 202,
  });
  printLoad('checkout', load);
  // A drain that misses the deadline is a finding to print, not a reason to print nothing.
  const drained = await waitFor(
    () => pendingOf(concertId),
    (n) => n === 0,
    {
      timeoutMs: sale.settleTimeoutSeconds * 1_000,
      intervalMs: 100,
      description: 'every accepted order to settle',
    },
  ).then(
    () => true,
    () => false,
  );
  const drainedAt = Date.now();
  await delay(SAMPLE_EVERY_MS); // one more sample, showing the empty queue
  sampling = false;
  await sampler;

  // ---- the tally -----------------------------------------------------------------------------
  const orders = (
    await checkoutDb.query<{ total: number; confirmed: number; rejected: number; pending: number; sold_out: number; declined: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed,
              count(*) FILTER (WHERE status = 'REJECTED')::int AS rejected,
              count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE rejection_reason = 'SOLD_OUT')::int AS sold_out,
              count(*) FILTER (WHERE rejection_reason = 'PAYMENT_DECLINED')::int AS declined
         FROM "order" WHERE concert_id = $1`,
      [concertId],
    )
  ).rows[0];
  const charges = (
    await billingDb.query<{ charges: number; orders: number; captured: number; first: Date; last: Date }>(
      `SELECT count(*)::int AS charges, count(DISTINCT order_id)::int AS orders,
              count(*) FILTER (WHERE status = 'CAPTURED')::int AS captured,
              min(created_at) AS first, max(created_at) AS last
         FROM charge WHERE concert_id = $1`,
      [concertId],
    )
  ).rows[0];
  const seats = (
    await billingDb.query<{ capacity: number; seats_sold: number }>(
      'SELECT capacity, seats_sold FROM seat_inventory WHERE concert_id = $1',
      [concertId],
    )
  ).rows[0];

  // Charges are written at Billing's pace, so their timestamps measure the drain directly: over
  // the whole sale, and after the spike, when Billing no longer shares the CPU with the intake.
  const drainRate = charges.charges / ((charges.last.getTime() - charges.first.getTime()) / 1_000);
  const afterSpike = (
    await billingDb.query<{ n: number }>('SELECT count(*)::int AS n FROM charge WHERE concert_id = $1 AND created_at > $2', [
      concertId,
      new Date(load.endedAt),
    ])
  ).rows[0].n;
  const drainRateAfterSpike = afterSpike / Math.max(0.001, (charges.last.getTime() - load.endedAt) / 1_000);
  // Lost: answered 202 and not in the database. Unsettled: still PENDING at the deadline (0 when drained).
  const lost = load.accepted - orders.total;
  const doubleCharges = charges.charges - charges.orders;
  const peakQueue = Math.max(0, ...samples.map((s) => s.queueDepth ?? 0));
  const timeToDrain = drained ? (drainedAt - load.endedAt) / 1_000 : null;
  // The sale sells out: past its last seat every purchase is a 409 at the door, and accepted/s over
  // the whole load counts that time too. The baseline sells no seats, so it never stops accepting.
  // Set beside it are the accept rate while there were seats, read from the orders' own commit
  // times, and every purchase answered per second.
  const soldOutAtTheDoor = load.statusCodes['409'] ?? 0;
  const answered = load.accepted + soldOutAtTheDoor;
  const answeredPerSecond = answered / load.seconds;
  const orderSpan = (
    await checkoutDb.query<{ seconds: number }>(
      'SELECT EXTRACT(EPOCH FROM max(created_at) - min(created_at))::float8 AS seconds FROM "order" WHERE concert_id = $1',
      [concertId],
    )
  ).rows[0];
  const selling = { seconds: orderSpan.seconds, acceptedPerSecond: load.accepted / Math.max(0.001, orderSpan.seconds) };

  log('\nqueue depth over time (sampled every 0.5 s; shown every 5 s)');
  log('     t   queue  outbox   pending  confirmed  rejected');
  for (const s of samples.filter((_, i) => i % 10 === 0 || i === samples.length - 1)) {
    log(
      `${s.t.toFixed(1).padStart(6)} ${String(s.queueDepth ?? '-').padStart(7)} ${String(s.outboxPending).padStart(7)} ${String(s.orders.PENDING).padStart(9)} ${String(
        s.orders.CONFIRMED,
      ).padStart(10)} ${String(s.orders.REJECTED).padStart(9)}`,
    );
  }
  log(
    `\naccepted             ${load.accepted.toLocaleString('en')} of ${load.sent.toLocaleString('en')} in ${load.seconds.toFixed(1)} s = ${round(load.acceptedPerSecond)}/s`,
  );
  log(
    `  while seats lasted ${load.accepted.toLocaleString('en')} in ${selling.seconds.toFixed(1)} s = ${round(selling.acceptedPerSecond)}/s (the first order's commit to the last's)`,
  );
  log(
    `answered             ${answered.toLocaleString('en')} in ${load.seconds.toFixed(1)} s = ${round(answeredPerSecond)}/s (202, and 409 sold out at the door)`,
  );
  log(`accept latency       p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms`);
  log(`baseline             ${round(baseline.acceptedPerSecond)}/s (p50 ${baseline.latencyMs.p50} ms, p99 ${baseline.latencyMs.p99} ms)`);
  log(
    `checkout / baseline  ${(load.acceptedPerSecond / baseline.acceptedPerSecond).toFixed(2)} accepted over the whole sale; ` +
      `${(selling.acceptedPerSecond / baseline.acceptedPerSecond).toFixed(2)} while seats lasted; ${(answeredPerSecond / baseline.acceptedPerSecond).toFixed(2)} answered`,
  );
  log(`peak queue depth     ${peakQueue.toLocaleString('en')}`);
  log(
    `drain rate           ${round(drainRate)}/s measured over the sale, ${round(drainRateAfterSpike)}/s after the spike (Billing's charges); ${sale.billingMaxRate}/s configured`,
  );
  log(
    timeToDrain === null
      ? `time to drain        NOT DRAINED: ${orders.pending} orders still pending ${sale.settleTimeoutSeconds} s after the last purchase was accepted`
      : `time to drain        ${timeToDrain.toFixed(1)} s after the last purchase was accepted (${((drainedAt - load.startedAt) / 1_000).toFixed(1)} s from the first)`,
  );
  log(
    `tally                ${orders.confirmed} confirmed + ${orders.rejected} rejected (${orders.sold_out} sold out, ${orders.declined} declined) = ${orders.confirmed + orders.rejected} of ${load.accepted} accepted; ${load.statusCodes['409'] ?? 0} turned away at the door, sold out`,
  );
  log(
    `seats                ${seats.seats_sold} sold of ${seats.capacity}; ${charges.captured} payments captured for ${orders.confirmed} confirmed orders`,
  );
  log(`lost                 ${lost} (accepted, and not in the database); ${orders.pending} unsettled`);
  log(`double charges       ${doubleCharges} (${charges.charges} charges for ${charges.orders} orders)`);

  // ---- steady: accepted to confirmed ---------------------------------------------------------
  // Measured once the sale's fan-out is done too (a mail, an audit entry for every order), so
  // that it is the latency of a steady flow, not of the sale's leftovers.
  const emailDb = pool(system.databaseUrl('email'));
  const auditDb = pool(system.databaseUrl('audit'));
  const allOrders = (await checkoutDb.query<{ n: number }>('SELECT count(*)::int AS n FROM "order"')).rows[0].n;
  await waitFor(
    async () => ({
      mails: (await emailDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM sent_email WHERE status = 'SENT'`)).rows[0].n,
      audited: (
        await auditDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE type IN ('OrderConfirmed', 'OrderRejected')`)
      ).rows[0].n,
    }),
    ({ mails, audited }) => mails >= allOrders && audited >= allOrders,
    { timeoutMs: sale.settleTimeoutSeconds * 1_000, intervalMs: 250, description: 'Email and Audit to catch up with the sale' },
  );
  // Every process's CPU from the sale's first purchase until its last mail and audit entry.
  const cpuMs = cpuBetween(cpuBefore, cpuSnapshot(servicePids()));
  const cpuTotal = Object.values(cpuMs).reduce((a, b) => a + b, 0);
  const settled = orders.confirmed + orders.rejected;
  const cpuMsPerOrder = cpuTotal / Math.max(1, settled);
  // Since the waiting room, a purchase beyond the seats is answered 409 at the door and never
  // becomes an order: the whole sale's work per purchase answered is the figure that compares.
  const cpuMsPerPurchase = cpuTotal / Math.max(1, answered);
  log(
    `cpu per purchase     ${cpuMsPerPurchase.toFixed(2)} ms (${load.accepted + soldOutAtTheDoor} purchases answered: ${load.accepted} accepted, ${soldOutAtTheDoor} sold out at the door)`,
  );
  log(
    `cpu per order        ${cpuMsPerOrder.toFixed(2)} ms (${Math.round(cpuTotal).toLocaleString('en')} ms for ${settled} settled orders, fan-out included: ` +
      Object.entries(cpuMs)
        .sort(([, a], [, b]) => b - a)
        .map(([role, ms]) => `${role} ${(ms / Math.max(1, settled)).toFixed(2)}`)
        .join(', ') +
      ')',
  );
  // Each phase below starts from vacuumed tables, not from the dead rows of the phases before it.
  const serviceDatabases = (['checkout', 'billing', 'email', 'analytics', 'audit'] as const).map((name) => system.databaseUrl(name));
  const startFresh = async () => {
    const { seconds, autovacuum } = await vacuumServices(serviceDatabases);
    log(
      `\n(the services' databases vacuumed before the next phase: ${seconds.toFixed(1)} s; autovacuum is ${autovacuum} on this PostgreSQL)`,
    );
  };

  // ---- one order at idle (the sale's fan-out is done: nothing runs beside it) -----------------
  await startFresh();
  const idle = await measureIdle({ url: checkout.url, db: checkoutDb, billingDb, scheduleConcert });

  await startFresh();
  log(
    `\n> steady: ${sale.steadyRate}/s for ${sale.steadySeconds} s, the time from 202 to CONFIRMED (after the sale's fan-out: ${allOrders} mails sent)`,
  );
  const steadyConcert = await scheduleConcert(1_000_000);
  // Arrivals at the rate whether or not the earlier ones were answered, as k6's constant-arrival-rate:
  // a slow answer does not slow the flow down, so the latency measured is the flow's, not a pool's.
  const steadyCpuBefore = cpuSnapshot(servicePids());
  const steady = await offer({
    url: `${checkout.url}/orders`,
    body: body(steadyConcert),
    ratePerSecond: sale.steadyRate,
    durationSeconds: sale.steadySeconds,
    answerTimeoutMs: frontDoor.answerTimeoutSeconds * 1_000,
    maxInFlight: frontDoor.maxVUs,
  });
  const steadyLatency = Object.entries(steady.latencyMs)
    .map(([status, { p50, p99 }]) => `${status} p50 ${p50} ms p99 ${p99} ms`)
    .join(', ');
  log(
    `  steady: ${steady.offered} offered by an open model in ${steady.seconds.toFixed(1)} s; answers ${JSON.stringify(steady.statuses)} ` +
      `(${steadyLatency}); without an answer ${steady.withoutAnswer + steady.resets + steady.refused}, dropped ${steady.dropped}, peak in flight ${steady.peakInFlight}`,
  );
  log(`  cores used meanwhile: ${coresUsed(cpuBetween(steadyCpuBefore, cpuSnapshot(servicePids())), steady.seconds)}`);
  await waitFor(
    () => pendingOf(steadyConcert),
    (n) => n === 0,
    { timeoutMs: 120_000, intervalMs: 100, description: 'the steady orders to settle' },
  );
  const {
    rows: [toConfirmed],
  } = await checkoutDb.query<{ p50: number; p99: number; n: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, count(*)::int AS n
       FROM (SELECT EXTRACT(EPOCH FROM settled_at - created_at) * 1000 AS ms FROM "order" WHERE concert_id = $1 AND status = 'CONFIRMED') t`,
    [steadyConcert],
  );
  log(
    `accept to confirmed  p50 ${round(toConfirmed.p50)} ms, p99 ${round(toConfirmed.p99)} ms (${toConfirmed.n} confirmed orders at ${sale.steadyRate}/s)`,
  );
  const steadyHops = await hopsOf(steadyConcert, checkoutDb, billingDb);
  log(`where the time goes (${steadyHops.orders} orders; each mark a PostgreSQL timestamp, see ticket-sale.hops.ts):`);
  for (const hop of steadyHops.hops)
    log(
      `  ${hop.name.padEnd(30)} p50 ${String(round(hop.p50)).padStart(5)} ms, p99 ${String(round(hop.p99)).padStart(5)} ms   ${hop.what}`,
    );

  // ---- the front door under an open model ----------------------------------------------------
  const frontDoorRuns = await measureFrontDoor(frontDoor, {
    url: checkout.url,
    db: checkoutDb,
    scheduleConcert,
    pids: servicePids,
    startFresh,
  });

  // ---- sync vs async -------------------------------------------------------------------------
  const compareSync = process.env.BENCH_SYNC_VS_ASYNC !== 'off';
  // Each phase starts with Billing's queue drained, so that a phase does not pay for the one
  // before it. "Beside" fires both loads at once: the async path's rate there, over its rate
  // alone, is what the synchronous path's failures cost the asynchronous one on the same process.
  if (compareSync)
    log(
      `\n> sync vs async: ${comparison.offeredRate}/s offered for ${comparison.durationSeconds} s a phase, Billing capped at ${sale.billingMaxRate}/s, SYNC_TIMEOUT_MS ${SYNC_TIMEOUT_MS}`,
    );
  if (compareSync && !drained) {
    log(
      `  NOTE: ${orders.pending} orders of the sale are still pending (Billing charging them, or Checkout applying the results): that work shares the CPU with this comparison`,
    );
  }
  if (compareSync) await startFresh();
  const comparisonConcert = await scheduleConcert(comparison.capacity);
  const offered = {
    body: body(comparisonConcert),
    connections: comparison.connections,
    durationSeconds: comparison.durationSeconds,
    overallRate: comparison.offeredRate,
  };
  const settleComparison = async () => {
    const settled = await waitFor(
      () => pendingOf(comparisonConcert),
      (n) => n === 0,
      {
        timeoutMs: sale.settleTimeoutSeconds * 1_000,
        intervalMs: 250,
        description: 'the comparison orders to settle',
      },
    ).then(
      () => true,
      () => false,
    );
    if (!settled)
      log(
        `  NOTE: ${await pendingOf(comparisonConcert)} comparison orders still pending: Billing is still charging them during the next phase`,
      );
  };
  const fireSync = () => fire({ url: `${checkout.url}/orders/sync`, acceptedStatus: 201, ...offered });
  const fireAsync = () => fire({ url: `${checkout.url}/orders`, acceptedStatus: 202, ...offered });

  async function compare(policies: 'on' | 'off') {
    log(`  policies ${policies}${policies === 'off' ? ' (SYNC_POLICIES=off: only a timeout on the call to Billing)' : ''}`);
    await settleComparison();
    const syncAlone = await fireSync();
    printLoad('  sync  alone ', syncAlone);
    await settleComparison();
    const asyncAlone = await fireAsync();
    printLoad('  async alone ', asyncAlone);
    await settleComparison();
    const [syncBeside, asyncBeside] = await Promise.all([fireSync(), fireAsync()]);
    printLoad('  sync  beside', syncBeside);
    printLoad('  async beside', asyncBeside);
    const asyncKept = asyncBeside.acceptedPerSecond / asyncAlone.acceptedPerSecond;
    log(
      `    async keeps ${(asyncKept * 100).toFixed(0)}% of its rate alone beside the sync load (goal >= ${ASYNC_KEPT_GOAL * 100}%: ${asyncKept >= ASYNC_KEPT_GOAL ? 'met' : 'NOT MET'}); ` +
        `sync p99 ${syncBeside.latencyMs.p99} ms beside, ${syncAlone.latencyMs.p99} ms alone (deadline ${SYNC_TIMEOUT_MS} + 100 ms); ` +
        `sync requests without an HTTP answer: ${noAnswer(syncAlone)} alone, ${noAnswer(syncBeside)} beside`,
    );
    return { syncAlone, asyncAlone, syncBeside, asyncBeside, asyncKept };
  }

  let syncFigures: Record<string, number | null> = {};
  let withPolicies: Awaited<ReturnType<typeof compare>> | null = null;
  let withoutPolicies: Awaited<ReturnType<typeof compare>> | null = null;
  if (compareSync) {
    withPolicies = await compare('on');
    // The same Checkout without the policies: a new process on the same database and queues.
    await checkout.stop();
    checkout = await system.start(
      'checkout',
      profiled({ BILLING_URL: `http://127.0.0.1:${billingPort}`, SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS), SYNC_POLICIES: 'off' }),
    );
    withoutPolicies = await compare('off');
    const { syncAlone: sync, asyncAlone: async } = withPolicies;
    log(`  async / sync accepted ${(async.acceptedPerSecond / sync.acceptedPerSecond).toFixed(2)} (alone, policies on)`);
    syncFigures = {
      syncAcceptedPerSecond: round(sync.acceptedPerSecond),
      syncErrorRate: round(sync.errorRate, 4),
      asyncAcceptedPerSecond: round(async.acceptedPerSecond),
      asyncErrorRate: round(async.errorRate, 4),
      asyncToSyncRatio: round(async.acceptedPerSecond / sync.acceptedPerSecond, 2),
      syncP99Ms: sync.latencyMs.p99,
      syncNoAnswer: noAnswer(sync),
      asyncBesideSyncPerSecond: round(withPolicies.asyncBeside.acceptedPerSecond),
      asyncKeptBesideSync: round(withPolicies.asyncKept, 2),
      syncBesideP99Ms: withPolicies.syncBeside.latencyMs.p99,
      syncBesideNoAnswer: noAnswer(withPolicies.syncBeside),
      syncOffAcceptedPerSecond: round(withoutPolicies.syncAlone.acceptedPerSecond),
      syncOffErrorRate: round(withoutPolicies.syncAlone.errorRate, 4),
      syncOffP99Ms: withoutPolicies.syncAlone.latencyMs.p99,
      syncOffNoAnswer: noAnswer(withoutPolicies.syncAlone),
      asyncOffAcceptedPerSecond: round(withoutPolicies.asyncAlone.acceptedPerSecond),
      asyncOffBesideSyncPerSecond: round(withoutPolicies.asyncBeside.acceptedPerSecond),
      asyncOffKeptBesideSync: round(withoutPolicies.asyncKept, 2),
    };
  }

  // ---- results -------------------------------------------------------------------------------
  const figures = {
    acceptedPerSecond: round(load.acceptedPerSecond),
    baselinePerSecond: round(baseline.acceptedPerSecond),
    ratio: round(load.acceptedPerSecond / baseline.acceptedPerSecond, 2),
    acceptedWhileSeatsLastedPerSecond: round(selling.acceptedPerSecond),
    ratioWhileSeatsLasted: round(selling.acceptedPerSecond / baseline.acceptedPerSecond, 2),
    answeredPerSecond: round(answeredPerSecond),
    ratioAnswered: round(answeredPerSecond / baseline.acceptedPerSecond, 2),
    p50Ms: load.latencyMs.p50,
    p99Ms: load.latencyMs.p99,
    drainRatePerSecond: round(drainRate),
    drainRateAfterSpikePerSecond: round(drainRateAfterSpike),
    configuredRatePerSecond: sale.billingMaxRate,
    peakQueueDepth: peakQueue,
    timeToDrainSeconds: timeToDrain === null ? null : round(timeToDrain, 1),
    accepted: load.accepted,
    confirmed: orders.confirmed,
    rejected: orders.rejected,
    sold: seats.seats_sold,
    capacity: seats.capacity,
    lost,
    unsettled: orders.pending,
    doubleCharges,
    cpuMsPerOrder: round(cpuMsPerOrder, 2),
    cpuMsPerPurchase: round(cpuMsPerPurchase, 2),
    soldOutAtTheDoor,
    cpuMsPerOrderByProcess: Object.fromEntries(Object.entries(cpuMs).map(([role, ms]) => [role, round(ms / Math.max(1, settled), 2)])),
    steadyRatePerSecond: sale.steadyRate,
    acceptToConfirmedP50Ms: round(toConfirmed.p50),
    acceptToConfirmedP99Ms: round(toConfirmed.p99),
    acceptToConfirmedHops: steadyHops.hops.map(({ name, p50, p99 }) => ({ name, p50Ms: round(p50), p99Ms: round(p99) })),
    idle: {
      clientP50Ms: idle.clientP50Ms,
      clientP99Ms: idle.clientP99Ms,
      hops: idle.hops.map(({ name, p50, p99 }) => ({ name, p50Ms: round(p50), p99Ms: round(p99) })),
    },
    frontDoor: frontDoorRuns.map(({ ratePerSecond, statuses, resets, withoutAnswer, dropped, listenOverflows, lost, met, latencyMs }) => ({
      ratePerSecond,
      statuses,
      latencyMs,
      resets,
      withoutAnswer,
      dropped,
      listenOverflows,
      lost,
      met,
    })),
    ...syncFigures,
  };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync('results', { recursive: true });
  const jsonFile = `results/ticket-sale-${stamp}.json`;
  const svgFile = `results/ticket-sale-${stamp}.svg`;
  writeFileSync(
    jsonFile,
    `${JSON.stringify({ params: { sale, comparison }, figures, load, baseline, withPolicies, withoutPolicies, samples }, null, 2)}\n`,
  );
  writeFileSync(
    svgFile,
    chart(samples, sale.billingMaxRate, {
      loadEnds: (load.endedAt - startedAt) / 1_000,
      drained: drained ? (drainedAt - startedAt) / 1_000 : null,
    }),
  );
  log(`\nwrote ${jsonFile} and ${svgFile}`);
  if (cpuProfiles) {
    // Stopped gracefully, as Node writes a profile only on a normal exit (the teardown kills).
    await Promise.all([checkout, billing, ...subscribers].map((service) => service.stop()));
    log(`CPU profiles written to ${cpuProfiles}/`);
  }
  log(JSON.stringify(figures));
} finally {
  await cleanUp();
}

async function cleanUp(): Promise<void> {
  await stopBaseline();
  await mailSink.stop().catch(() => {});
  await baselineDb?.drop().catch(() => {});
  baselineDb = undefined;
  await Promise.all(pools.splice(0).map((p) => p.end()));
  await system.teardown();
}

function pool(url: string): pg.Pool {
  const created = new pg.Pool({ connectionString: url, max: 2 });
  pools.push(created);
  return created;
}

function printLoad(name: string, result: LoadResult): void {
  const codes = Object.entries(result.statusCodes)
    .map(([code, n]) => `${code}: ${n}`)
    .join(', ');
  log(
    `  ${name}: ${round(result.acceptedPerSecond)}/s accepted, ${result.accepted}/${result.sent} in ${result.seconds.toFixed(1)} s, ` +
      `p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, errors ${(result.errorRate * 100).toFixed(2)}% (${codes || 'no answers'})`,
  );
}

/** Requests that got no HTTP answer at all: a reset connection, or none within autocannon's timeout. */
function noAnswer(result: LoadResult): number {
  return result.sent - Object.values(result.statusCodes).reduce((a, b) => a + b, 0);
}

async function startBaseline(databaseUrl: string): Promise<string> {
  const child = spawn(process.execPath, ['tools/bench/baseline.server.ts', databaseUrl, String(CHECKOUT_POOL_SIZE)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  baselineServer = child;
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const port = await waitFor(() => /listening (\d+)/.exec(output)?.[1], Boolean, {
    timeoutMs: 10_000,
    description: 'the baseline server to listen',
  });
  return `http://127.0.0.1:${port}`;
}

async function stopBaseline(): Promise<void> {
  const child = baselineServer;
  baselineServer = undefined;
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Two panels over the sale: the rates in and out, and the buffer between them. */
function chart(points: Sample[], configuredRate: number, moments: { loadEnds: number; drained: number | null }): string {
  const rate = (pick: (s: Sample) => number) =>
    points.slice(1).map((s, i) => [s.t, Math.max(0, (pick(s) - pick(points[i])) / (s.t - points[i].t))] as const);
  const settled = (s: Sample) => s.orders.CONFIRMED + s.orders.REJECTED;
  const tEnd = points.at(-1)?.t ?? 0;
  return renderChart(
    `Ticket sale: ${sale.purchases.toLocaleString('en')} purchases, ${sale.capacity.toLocaleString('en')} seats, Billing capped at ${configuredRate}/s`,
    [
      {
        title: 'orders per second',
        series: [
          { name: 'accepted/s (Checkout)', color: '#2563eb', points: rate((s) => s.orders.total) },
          { name: 'settled/s (CONFIRMED or REJECTED)', color: '#16a34a', points: rate(settled) },
          {
            name: 'BILLING_MAX_RATE',
            color: '#9ca3af',
            dashed: true,
            points: [
              [0, configuredRate],
              [tEnd, configuredRate],
            ],
          },
        ],
      },
      {
        title: 'the buffer: charges waiting',
        series: [
          { name: 'charge queue depth', color: '#d97706', points: points.map((s) => [s.t, s.queueDepth ?? 0] as const) },
          { name: 'outbox pending', color: '#7c3aed', points: points.map((s) => [s.t, s.outboxPending] as const) },
        ],
      },
    ],
    [
      { x: moments.loadEnds, label: 'last purchase accepted' },
      ...(moments.drained === null ? [] : [{ x: moments.drained, label: 'all settled' }]),
    ],
  );
}
