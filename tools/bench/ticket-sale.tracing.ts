// `BENCH_TRACING=compare npm run bench:ticket-sale`: what tracing costs.
//
// The same sale three times in one run, each on a fresh copy of the system: tracing off (no OTLP
// endpoint, as `npm start` runs by default), on (every service exporting OTLP to a receiver in
// this process that counts the spans, OtlpTraceSink, keeping none), and off again; the baseline
// is the mean of the two offs. OTEL_TRACES_SAMPLER(_ARG) in the environment reach the services. Each copy is
// warmed up, then sold out at the spike rate; the accept rate is Checkout's, and cpuMsPerOrder
// counts every process (services, PostgreSQL, brokers) from the first purchase until every
// order's mail is sent, as the main bench does. Printed side by side, with the ratios; the last
// line is one JSON object. Target: tracing costs at most 10% of the accept rate.
import { TestSystem } from '@boxoffice/e2e';
import { OtlpTraceSink } from '@boxoffice/telemetry';
import { waitFor } from '@boxoffice/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { fire } from './autocannon.load.ts';
import { scheduleConcert as scheduleConcertOn } from './bench.concerts.ts';
import { asDeployed, prioritiesLine } from './bench.priority.ts';
import { FanoutMailSink } from './fanout.mail-sink.ts';
import type { TicketSaleParams } from './params.reader.ts';
import { cpuBetween, cpuSnapshot } from './process.cpu.ts';

export interface TracingRun {
  readonly tracing: 'off' | 'on';
  readonly acceptedPerSecond: number;
  readonly p99Ms: number;
  readonly accepted: number;
  readonly settled: number;
  readonly cpuMsPerOrder: number;
  readonly cpuMsPerOrderByProcess: Record<string, number>;
  /** Spans the services exported during the sale (from its first purchase to the last mail). */
  readonly spans: number;
  readonly spansPerOrder: number;
}

export async function compareTracing(
  sale: TicketSaleParams,
  log: (line?: string) => void = console.log,
): Promise<{ off: TracingRun; on: TracingRun }> {
  log(
    `ticket-sale bench, tracing off, on, then off again: ${sale.purchases} purchases for ${sale.capacity} seats at ${sale.spikeRate}/s, Billing at ${sale.billingMaxRate}/s; ${prioritiesLine()}`,
  );
  // Off before and after: a machine that drifts during the run (PostgreSQL's checkpoints and
  // vacuum after the first sale, say) shows as two different baselines rather than as a cost of
  // tracing, and the baseline is their mean.
  const before = await runSale(sale, 'off', log);
  const on = await runSale(sale, 'on', log);
  const after = await runSale(sale, 'off', log);
  const mean = (a: number, b: number, digits: number) => Number(((a + b) / 2).toFixed(digits));
  const off: TracingRun = {
    ...before,
    acceptedPerSecond: mean(before.acceptedPerSecond, after.acceptedPerSecond, 0),
    cpuMsPerOrder: mean(before.cpuMsPerOrder, after.cpuMsPerOrder, 2),
    p99Ms: mean(before.p99Ms, after.p99Ms, 0),
  };
  const ratio = (a: number, b: number) => Number((a / Math.max(1e-9, b)).toFixed(3));
  log('\n               off before    on   off after   on/off (mean of the offs)');
  log(
    `accepted/s   ${String(before.acceptedPerSecond).padStart(9)} ${String(on.acceptedPerSecond).padStart(9)} ${String(after.acceptedPerSecond).padStart(9)}   ${ratio(on.acceptedPerSecond, off.acceptedPerSecond)}`,
  );
  log(
    `cpu ms/order ${String(before.cpuMsPerOrder).padStart(9)} ${String(on.cpuMsPerOrder).padStart(9)} ${String(after.cpuMsPerOrder).padStart(9)}   ${ratio(on.cpuMsPerOrder, off.cpuMsPerOrder)}`,
  );
  log(`p99 ms       ${String(before.p99Ms).padStart(9)} ${String(on.p99Ms).padStart(9)} ${String(after.p99Ms).padStart(9)}`);
  log(
    `spans/order  ${String(before.spansPerOrder).padStart(9)} ${String(on.spansPerOrder).padStart(9)} ${String(after.spansPerOrder).padStart(9)}`,
  );
  const acceptKept = ratio(on.acceptedPerSecond, off.acceptedPerSecond);
  log(`tracing keeps ${(acceptKept * 100).toFixed(1)}% of the accept rate (goal >= 90%: ${acceptKept >= 0.9 ? 'met' : 'NOT MET'})`);
  const figures = {
    tracingOff: off,
    tracingOn: on,
    tracingOffRuns: [before, after],
    sampler: process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
    samplerArg: process.env.OTEL_TRACES_SAMPLER_ARG ?? null,
    acceptRateOnToOff: acceptKept,
    cpuMsPerOrderOnToOff: ratio(on.cpuMsPerOrder, off.cpuMsPerOrder),
  };
  mkdirSync('results', { recursive: true });
  const file = `results/ticket-sale-tracing-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify({ params: sale, figures }, null, 2)}\n`);
  log(`\nwrote ${file}`);
  log(JSON.stringify(figures));
  return { off, on };
}

async function runSale(sale: TicketSaleParams, tracing: 'off' | 'on', log: (line?: string) => void): Promise<TracingRun> {
  log(`\n> tracing ${tracing}`);
  const system = new TestSystem({});
  const sink = new OtlpTraceSink(false);
  const mails = new FanoutMailSink();
  const pools: pg.Pool[] = [];
  const pool = (url: string) => {
    const created = new pg.Pool({ connectionString: url, max: 2 });
    pools.push(created);
    return created;
  };
  try {
    const traced: Record<string, string> = tracing === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: (await sink.start()).url } : {};
    const smtpUrl = await mails.start();
    const services = await Promise.all([
      system.start('checkout', traced),
      system.start('billing', { ...traced, BILLING_MAX_RATE: String(sale.billingMaxRate) }),
      system.start('email', { ...traced, SMTP_URL: smtpUrl }, asDeployed('email')),
      system.start('analytics', traced, asDeployed('analytics')),
      system.start('audit', traced, asDeployed('audit')),
    ]);
    const [checkout] = services;
    const checkoutDb = pool(system.databaseUrl('checkout'));
    const billingDb = pool(system.databaseUrl('billing'));
    const emailDb = pool(system.databaseUrl('email'));
    const body = (concertId: string) => ({ concertId, quantity: sale.quantity, customerEmail: 'buyer@example.com' });
    const pending = async (concertId: string) =>
      (
        await checkoutDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE concert_id = $1 AND status = 'PENDING'`, [
          concertId,
        ])
      ).rows[0].n;
    const scheduleConcert = (capacity: number) => scheduleConcertOn(checkout.url, billingDb, capacity);
    const settleTimeoutMs = sale.settleTimeoutSeconds * 1_000;

    const warm = await scheduleConcert(1_000_000);
    await fire({
      url: `${checkout.url}/orders`,
      body: body(warm),
      connections: sale.connections,
      amount: sale.warmup,
      acceptedStatus: 202,
    });
    await waitFor(
      () => pending(warm),
      (n) => n === 0,
      { timeoutMs: settleTimeoutMs, intervalMs: 250, description: 'the warm-up to settle' },
    );
    const mailsBefore = async () =>
      (await emailDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM sent_email WHERE status = 'SENT'`)).rows[0].n;
    const allOrders = async () => (await checkoutDb.query<{ n: number }>('SELECT count(*)::int AS n FROM "order"')).rows[0].n;
    await waitFor(async () => (await mailsBefore()) >= (await allOrders()), Boolean, {
      timeoutMs: settleTimeoutMs,
      intervalMs: 250,
      description: 'the warm-up mails',
    });

    const concertId = await scheduleConcert(sale.capacity);
    const pids = new Map(services.map((service) => [service.child.pid!, service.name]));
    const spansBefore = sink.received;
    const cpuBefore = cpuSnapshot(pids);
    const load = await fire({
      url: `${checkout.url}/orders`,
      body: body(concertId),
      connections: sale.connections,
      amount: sale.purchases,
      overallRate: sale.spikeRate,
      acceptedStatus: 202,
    });
    await waitFor(
      () => pending(concertId),
      (n) => n === 0,
      { timeoutMs: settleTimeoutMs, intervalMs: 100, description: 'every accepted order to settle' },
    );
    const total = await allOrders();
    await waitFor(mailsBefore, (n) => n >= total, { timeoutMs: settleTimeoutMs, intervalMs: 250, description: 'every mail to be sent' });
    const cpuMs = cpuBetween(cpuBefore, cpuSnapshot(pids));
    // The services export every 5 s (the batch span processor's default): let the last batch in.
    if (tracing === 'on') await delay(6_000);
    const settled = (
      await checkoutDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE concert_id = $1 AND status <> 'PENDING'`, [
        concertId,
      ])
    ).rows[0].n;
    const cpuTotal = Object.values(cpuMs).reduce((a, b) => a + b, 0);
    const per = (value: number) => Number((value / Math.max(1, settled)).toFixed(2));
    const spans = sink.received - spansBefore;
    const run: TracingRun = {
      tracing,
      acceptedPerSecond: Math.round(load.acceptedPerSecond),
      p99Ms: load.latencyMs.p99,
      accepted: load.accepted,
      settled,
      cpuMsPerOrder: per(cpuTotal),
      cpuMsPerOrderByProcess: Object.fromEntries(Object.entries(cpuMs).map(([role, ms]) => [role, per(ms)])),
      spans,
      spansPerOrder: per(spans),
    };
    log(
      `  ${run.acceptedPerSecond}/s accepted (${run.accepted} of ${load.sent}), p99 ${run.p99Ms} ms, ${run.cpuMsPerOrder} cpu ms per settled order, ${run.spansPerOrder} spans per order`,
    );
    return run;
  } finally {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await system.teardown();
    await mails.stop().catch(() => {});
    await sink.stop();
  }
}
