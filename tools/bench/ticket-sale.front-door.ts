// The front door under an open model (k6's arrival-rate executors): POST /orders offered at each
// rate for a while by arrivals that do not wait for answers. Checkout must bound its work: admit
// what it can commit in time and answer the rest 503 with Retry-After at once. The verdict per
// rate: no connection reset, no request without an answer, every answer a 202 or a 503 that says
// when to come back, and no 202 whose order is missing.
//
// Run alone with `BENCH_FRONT_DOOR=only npm run bench:ticket-sale`; the full bench runs it after
// the steady phase. Rates and duration: k6/params.json, `frontDoor` (k6/front-door.js offers the same).
import { TestSystem } from '@boxoffice/e2e';
import pg from 'pg';
import { fire } from './autocannon.load.ts';
import { asDeployed, prioritiesLine } from './bench.priority.ts';
import { scheduleConcert } from './bench.concerts.ts';
import { FanoutMailSink } from './fanout.mail-sink.ts';
import { offer, timelineTable, type OpenModelResult } from './open-model.load.ts';
import type { TicketSaleParams } from './params.reader.ts';
import { coresUsed, cpuBetween, cpuSnapshot } from './process.cpu.ts';

export interface FrontDoorParams {
  readonly rates: ReadonlyArray<number>;
  readonly durationSeconds: number;
  /** k6's default request timeout: an answer later than this is no answer. */
  readonly answerTimeoutSeconds: number;
  /** k6's maxVUs: requests waiting at once at most; an arrival beyond is dropped, and the rate is not met. */
  readonly maxVUs: number;
}

export interface FrontDoorRun extends OpenModelResult {
  readonly ratePerSecond: number;
  /** 202s whose order is not in Checkout's database. */
  readonly lost: number;
  readonly met: boolean;
}

export async function measureFrontDoor(
  params: FrontDoorParams,
  checkout: {
    readonly url: string;
    readonly db: pg.Pool;
    readonly scheduleConcert: (capacity: number) => Promise<string>;
    /** The services' pids and names, for the CPU each used while the load ran. */
    readonly pids: () => ReadonlyMap<number, string>;
    /** Called before each rate, so that each starts from the same state (bench.vacuum.ts). */
    readonly startFresh?: () => Promise<void>;
  },
  log: (line?: string) => void = console.log,
): Promise<FrontDoorRun[]> {
  log(`\n> front door: POST /orders offered by an open model, ${params.rates.join('/s, ')}/s for ${params.durationSeconds} s each`);
  const runs: FrontDoorRun[] = [];
  for (const ratePerSecond of params.rates) {
    await checkout.startFresh?.();
    const concertId = await checkout.scheduleConcert(1_000_000);
    const pids = new Map([...checkout.pids(), [process.pid, 'load generator']]);
    const cpuBefore = cpuSnapshot(pids);
    const result = await offer({
      url: `${checkout.url}/orders`,
      body: { concertId, quantity: 1, customerEmail: 'buyer@example.com' },
      ratePerSecond,
      durationSeconds: params.durationSeconds,
      answerTimeoutMs: params.answerTimeoutSeconds * 1_000,
      maxInFlight: params.maxVUs,
    });
    const cpu = cpuBetween(cpuBefore, cpuSnapshot(pids));
    const {
      rows: [{ n: stored }],
    } = await checkout.db.query<{ n: number }>('SELECT count(*)::int AS n FROM "order" WHERE concert_id = $1', [concertId]);
    const accepted = result.statuses['202'] ?? 0;
    const unexpected = Object.entries(result.statuses).filter(([status]) => status !== '202' && status !== '503');
    const lost = Math.max(0, accepted - stored);
    const met =
      result.resets + result.refused + result.withoutAnswer + result.dropped + Object.keys(result.otherErrors).length === 0 &&
      unexpected.length === 0 &&
      result.withoutRetryAfter === 0 &&
      lost === 0;
    runs.push({ ...result, ratePerSecond, lost, met });
    const latency = Object.entries(result.latencyMs)
      .map(([status, { p50, p99 }]) => `${status} p50 ${p50} ms p99 ${p99} ms`)
      .join(', ');
    log(
      `  ${String(ratePerSecond).padStart(5)}/s offered: ${result.offered} requests in ${result.seconds.toFixed(1)} s; ` +
        `answers ${JSON.stringify(result.statuses)} (${latency}); 503 without Retry-After ${result.withoutRetryAfter}; ` +
        `resets ${result.resets}, refused ${result.refused}, without an answer ${result.withoutAnswer}` +
        (Object.keys(result.otherErrors).length > 0 ? `, other errors ${JSON.stringify(result.otherErrors)}` : '') +
        `; peak in flight ${result.peakInFlight}, dropped ${result.dropped}, listen queues overflowed ${result.listenOverflows}; ${accepted} accepted, ${stored} stored, lost ${lost}: ${met ? 'met' : 'NOT MET'}`,
    );
    log(`      cores used meanwhile: ${coresUsed(cpu, result.seconds)}`);
    // Second by second, where a rate was not met.
    if (!met) for (const line of timelineTable(result, '      ')) log(line);
  }
  return runs;
}

/** `BENCH_FRONT_DOOR=only`: the five services on a fresh copy of the system, warmed up, then the front door alone. */
export async function frontDoorAlone(
  params: FrontDoorParams,
  sale: TicketSaleParams,
  /** Each service's environment as the bench sets it (with `--cpu-prof`, asking for a CPU profile). */
  serviceEnv: (env?: Record<string, string>) => Record<string, string> = (env = {}) => env,
  log: (line?: string) => void = console.log,
) {
  const system = new TestSystem({});
  const mails = new FanoutMailSink();
  const pools = [new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 2 })];
  pools.push(new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 }));
  const [checkoutDb, billingDb] = pools;
  try {
    log(`front door alone: the five services, ${prioritiesLine()}`);
    const smtpUrl = await mails.start();
    const services = await Promise.all([
      system.start('checkout', serviceEnv()),
      system.start('billing', serviceEnv({ BILLING_MAX_RATE: String(sale.billingMaxRate) })),
      system.start('email', serviceEnv({ SMTP_URL: smtpUrl }), asDeployed('email')),
      system.start('analytics', serviceEnv(), asDeployed('analytics')),
      system.start('audit', serviceEnv(), asDeployed('audit')),
    ]);
    const [checkout] = services;
    const scheduleConcertHere = (capacity: number) => scheduleConcert(checkout.url, billingDb, capacity);
    log('> warm-up');
    const warm = await scheduleConcertHere(1_000_000);
    await fire({
      url: `${checkout.url}/orders`,
      body: { concertId: warm, quantity: 1, customerEmail: 'buyer@example.com' },
      connections: sale.connections,
      amount: sale.warmup,
      acceptedStatus: 202,
    });
    const pids = () => new Map(services.map((service) => [service.child.pid!, service.name]));
    const runs = await measureFrontDoor(params, { url: checkout.url, db: checkoutDb, scheduleConcert: scheduleConcertHere, pids }, log);
    // Stopped gracefully: Node writes a CPU profile only on a normal exit (the teardown kills).
    await Promise.all(services.map((service) => service.stop()));
    log(
      JSON.stringify({
        frontDoor: runs.map(({ ratePerSecond, statuses, resets, withoutAnswer, dropped, listenOverflows, lost, met }) => ({
          ratePerSecond,
          statuses,
          resets,
          withoutAnswer,
          dropped,
          listenOverflows,
          lost,
          met,
        })),
      }),
    );
    return runs;
  } finally {
    await mails.stop().catch(() => {});
    await Promise.all(pools.map((p) => p.end()));
    await system.teardown();
  }
}
