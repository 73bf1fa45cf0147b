// The synchronous path alone (BENCH_SYNC=only npm run bench:ticket-sale): Checkout and Billing,
// nothing queued, purchases offered to POST /orders/sync by an open model (as k6's
// constant-arrival-rate runs them) at a rate Billing can charge and at syncVsAsync.offeredRate.
// What it shows is how many a caller that waits gets through, and how fast the rest are refused:
// docs/patterns/sync-vs-async.md.
import { freePort, TestSystem } from '@boxoffice/e2e';
import pg from 'pg';
import { scheduleConcert } from './bench.concerts.ts';
import { offer, type OpenModelResult } from './open-model.load.ts';
import { coresUsed, cpuBetween, cpuSnapshot } from './process.cpu.ts';
import type { SyncVsAsyncParams, TicketSaleParams } from './params.reader.ts';

/** Below what the path takes: every purchase should be a 201, and this is its latency unloaded. */
const EASY_RATE = 50;
/** Checkout's default, set explicitly: the p99 of the 201s is read against it. */
const SYNC_TIMEOUT_MS = 2_000;

export interface SyncAloneRun {
  readonly ratePerSecond: number;
  readonly acceptedPerSecond: number;
  readonly statuses: Record<string, number>;
  readonly latencyMs: OpenModelResult['latencyMs'];
  readonly withoutAnswer: number;
}

export async function syncAlone(
  comparison: SyncVsAsyncParams,
  sale: TicketSaleParams,
  log: (line?: string) => void = console.log,
): Promise<SyncAloneRun[]> {
  const system = new TestSystem({});
  const billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 });
  try {
    const billingPort = await freePort();
    const rate = String(sale.billingMaxRate);
    log(`sync alone: Checkout and Billing (both doors at ${rate}/s), SYNC_TIMEOUT_MS ${SYNC_TIMEOUT_MS}, open model`);
    const [checkout, billing] = await Promise.all([
      system.start('checkout', { BILLING_URL: `http://127.0.0.1:${billingPort}`, SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS) }),
      system.start('billing', { PORT: String(billingPort), BILLING_MAX_RATE: rate, BILLING_SYNC_MAX_RATE: rate }),
    ]);
    const concertId = await scheduleConcert(checkout.url, billingDb, comparison.capacity);
    const pids = new Map([
      [checkout.child.pid!, 'checkout'],
      [billing.child.pid!, 'billing'],
      [process.pid, 'load generator'],
    ]);
    const run = async (ratePerSecond: number, durationSeconds: number): Promise<SyncAloneRun> => {
      const cpuBefore = cpuSnapshot(pids);
      const result = await offer({
        url: `${checkout.url}/orders/sync`,
        body: { concertId, quantity: 1, customerEmail: 'buyer@example.com' },
        ratePerSecond,
        durationSeconds,
        maxInFlight: comparison.connections * 10,
      });
      const cpu = cpuBetween(cpuBefore, cpuSnapshot(pids));
      const latency = Object.entries(result.latencyMs)
        .map(([status, { p50, p99 }]) => `${status} p50 ${p50} ms p99 ${p99} ms`)
        .join(', ');
      const acceptedPerSecond = Math.round((result.statuses['201'] ?? 0) / result.seconds);
      log(
        `  ${String(ratePerSecond).padStart(5)}/s offered: ${acceptedPerSecond}/s accepted; answers ${JSON.stringify(result.statuses)} (${latency}); without an answer ${result.withoutAnswer}, dropped ${result.dropped}`,
      );
      log(`      cores used meanwhile: ${coresUsed(cpu, result.seconds)}`);
      return {
        ratePerSecond,
        acceptedPerSecond,
        statuses: result.statuses,
        latencyMs: result.latencyMs,
        withoutAnswer: result.withoutAnswer,
      };
    };
    log('> warm-up');
    await run(EASY_RATE, 3);
    log('> measured');
    const runs = [await run(EASY_RATE, comparison.durationSeconds), await run(comparison.offeredRate, comparison.durationSeconds)];
    // A 500 is a bug, not a verdict: say what the services logged about it.
    if (runs.some((r) => (r.statuses['500'] ?? 0) > 0))
      for (const service of [checkout, billing])
        for (const line of service
          .output()
          .split('\n')
          .filter((l) => /ERROR/.test(l))
          .slice(0, 20))
          log(`  ${service.name}: ${line}`);
    log(JSON.stringify({ syncAlone: runs }));
    return runs;
  } finally {
    await billingDb.end().catch(() => {});
    await system.teardown();
  }
}
