// `npm run bench:waiting-room`: the seed's own example at its scale. A crowd far larger than the
// hall hits Buy at once; the queue is the buffer, the waiting room what each buyer sees of it.
//
//   1. All five services run as processes in a fresh namespace (TestSystem), Billing capped at
//      `billingMaxRate`; Email sends to a mail sink in this process.
//   2. Streams: `streams` buyers follow their orders (GET /orders/:id/events) at once, with
//      Billing stopped and then started again: Checkout's memory per open stream, its CPU while
//      they wait and while the line moves under all of them, and whether each was told a position
//      that never went up and then its outcome.
//   3. The sale: `purchases` POST /orders offered at `ratePerSecond` in an open model (arrivals do
//      not wait for answers, as k6's arrival-rate executors) against a concert of `capacity`
//      seats. Every arrival must be answered: 202, 409 sold out, or 503 with Retry-After. Then,
//      from the databases: the drain rate against the configured one; the wait each buyer was
//      told at acceptance against the time their outcome really took; the work done for buyers
//      who could never get a seat; and the peak memory of Checkout and the broker.
//
// Parameters: k6/params.json, `waitingRoom` (k6/waiting-room.js runs the same sale). The last line
// printed is one JSON object with every figure. BENCH_PROFILE_CHECKOUT=<dir> has Checkout write a V8
// CPU profile there when it stops. BENCH_WAITING_ROOM_ORDERS=<file> writes each order of the sale
// there (its number in line, what it was told, when it was placed, charged, decided and settled),
// to study the estimate against what happened.
import { brokerAddress } from '@boxoffice/config';
import { queues } from '@boxoffice/contracts';
import { TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import pg from 'pg';
import { fire } from './autocannon.load.ts';
import { scheduleConcert } from './bench.concerts.ts';
import { asDeployed, prioritiesLine } from './bench.priority.ts';
import { ensureBenchServers } from './bench.servers.ts';
import { FanoutMailSink } from './fanout.mail-sink.ts';
import { offer, timelineTable } from './open-model.load.ts';
import { readParams } from './params.reader.ts';
import { cpuBetween, cpuSnapshot } from './process.cpu.ts';
import { StreamFollowers } from './waiting-room.streams.ts';

const { waitingRoom: params } = readParams();
const exec = promisify(execFile);
const log = (line = '') => console.log(line);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));
const BUYER = 'waiting-room@example.com';

await ensureBenchServers('bench:waiting-room');
log(
  `waiting-room bench: ${params.purchases.toLocaleString('en')} purchases at ${params.ratePerSecond}/s (open model) for ` +
    `${params.capacity.toLocaleString('en')} seats, Billing at ${params.billingMaxRate}/s; ${params.streams.toLocaleString('en')} streams; ` +
    prioritiesLine(),
);

const system = new TestSystem({});
const mails = new FanoutMailSink();
const pools: pg.Pool[] = [];
const pool = (service: string) => {
  const created = new pg.Pool({ connectionString: system.databaseUrl(service), max: 2 });
  pools.push(created);
  return created;
};
const figures: Record<string, unknown> = {};

try {
  const smtpUrl = await mails.start();
  const billingEnv = { BILLING_MAX_RATE: String(params.billingMaxRate) };
  const [checkout, firstBilling, ...subscribers] = await Promise.all([
    system.start(
      'checkout',
      process.env.BENCH_PROFILE_CHECKOUT ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_CHECKOUT}` } : {},
    ),
    system.start('billing', billingEnv),
    system.start('email', { SMTP_URL: smtpUrl }, asDeployed('email')),
    system.start('analytics', {}, asDeployed('analytics')),
    system.start('audit', {}, asDeployed('audit')),
  ]);
  let billing = firstBilling;
  const checkoutDb = pool('checkout');
  const billingDb = pool('billing');
  const emailDb = pool('email');
  const checkoutPid = checkout.child.pid!;
  const pids = () =>
    new Map([[checkoutPid, 'checkout'], [billing.child.pid!, 'billing'], ...subscribers.map((s) => [s.child.pid!, s.name] as const)]);
  const pendingOf = async (concertId: string) =>
    (
      await checkoutDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE concert_id = $1 AND status = 'PENDING'`, [
        concertId,
      ])
    ).rows[0].n;

  log('\n> warm-up');
  const warm = await scheduleConcert(checkout.url, billingDb, 1_000_000);
  await fire({ url: `${checkout.url}/orders`, body: buy(warm), connections: 50, amount: 4_000, acceptedStatus: 202 });
  await waitFor(
    () => pendingOf(warm),
    (n) => n === 0,
    { timeoutMs: 120_000, intervalMs: 250, description: 'the warm-up to settle' },
  );

  // ---- streams -------------------------------------------------------------------------------
  log(`\n> streams: ${params.streams.toLocaleString('en')} buyers follow their orders, Billing stopped, then started again`);
  const streamConcert = await scheduleConcert(checkout.url, billingDb, 1_000_000);
  await billing.stop();
  const placed = await fire({
    url: `${checkout.url}/orders`,
    body: buy(streamConcert),
    connections: 50,
    amount: params.streams,
    acceptedStatus: 202,
  });
  const orderIds = (
    await checkoutDb.query<{ id: string }>(`SELECT id::text FROM "order" WHERE concert_id = $1 ORDER BY line_number`, [streamConcert])
  ).rows.map((row) => row.id);
  log(`  ${placed.accepted} orders placed and waiting`);
  const rssBefore = rssKb(checkoutPid);
  const followers = new StreamFollowers(checkout.url);
  await followers.open(orderIds);
  await waitFor(
    () => Promise.resolve(followers.told),
    (n) => n === orderIds.length,
    { timeoutMs: 60_000, description: 'every buyer to be told a place' },
  );
  await delay(2_000);
  const rssOpen = rssKb(checkoutPid);
  const idleFrom = cpuSnapshot(pids());
  await delay(10_000);
  const idleCpu = cpuBetween(idleFrom, cpuSnapshot(pids()));
  const bytesPerStream = ((rssOpen - rssBefore) * 1024) / orderIds.length;
  log(
    `  Checkout's memory: ${mb(rssBefore)} MB before, ${mb(rssOpen)} MB with ${orderIds.length} streams open: ${round(bytesPerStream / 1024, 1)} KB per stream`,
  );
  log(`  Checkout's CPU while they wait (10 s): ${round((idleCpu.checkout ?? 0) / 10_000, 3)} cores`);

  billing = await system.start('billing', billingEnv);
  const drainFrom = cpuSnapshot(pids());
  const drainStarted = performance.now();
  await waitFor(
    () => Promise.resolve(followers.ended),
    (n) => n === orderIds.length,
    {
      timeoutMs: 300_000,
      intervalMs: 250,
      description: 'every stream to end with its outcome',
    },
  );
  const drainSeconds = (performance.now() - drainStarted) / 1_000;
  const drainCpu = cpuBetween(drainFrom, cpuSnapshot(pids()));
  followers.close();
  const withOutcome = followers.followed.filter((f) => f.outcome).length;
  const events = followers.followed.reduce((sum, f) => sum + f.positions.length, 0);
  log(
    `  the line moved under them: ${round(drainSeconds, 1)} s, Checkout ${round((drainCpu.checkout ?? 0) / 1_000 / drainSeconds, 3)} cores, ` +
      `${events.toLocaleString('en')} positions pushed; ${withOutcome} of ${orderIds.length} told their outcome, ` +
      `${followers.followed.filter((f) => f.error).length} broken, positions that went up: ${followers.wentUp}`,
  );
  figures.streams = {
    streams: orderIds.length,
    kbPerStream: round(bytesPerStream / 1024, 2),
    cpuCoresWaiting: round((idleCpu.checkout ?? 0) / 10_000, 3),
    cpuCoresDraining: round((drainCpu.checkout ?? 0) / 1_000 / drainSeconds, 3),
    toldOutcome: withOutcome,
    positionsUp: followers.wentUp,
  };

  // ---- the sale ------------------------------------------------------------------------------
  log(
    `\n> the sale: ${params.purchases.toLocaleString('en')} purchases at ${params.ratePerSecond}/s for ${params.capacity.toLocaleString('en')} seats`,
  );
  const concertId = await scheduleConcert(checkout.url, billingDb, params.capacity);
  const accepted: Array<{ orderId: string; estimatedWaitSeconds: number | null }> = [];
  const peak = { checkoutRssKb: 0, brokerRssKb: 0, queueBytes: 0, queueBytesAtDepth: 0, queueDepth: 0 };
  const rabbitPid = brokerPid();
  const chargeQueue = await chargeQueueDepth(`${system.namespace}.${queues.chargeOrder}`);
  const series: Array<{
    t: number;
    accepted: number;
    line: { length: number; drainPerSecond: number | null; estimatedWaitSeconds: number | null; open: boolean };
  }> = [];
  const saleStarted = Date.now();
  // A CPU profile's clock is the monotonic one: this says where the sale begins in it.
  if (process.env.BENCH_PROFILE_CHECKOUT) log(`  the sale begins at ${process.hrtime.bigint() / 1000n} µs of the monotonic clock`);
  let sampling = true;
  const sampler = (async () => {
    let sample = 0;
    while (sampling) {
      if (sample++ % 2 === 0) {
        try {
          const stats = (await (await fetch(`${checkout.url}/dashboard/stats`)).json()) as { line: (typeof series)[number]['line'] };
          series.push({ t: (Date.now() - saleStarted) / 1_000, accepted: accepted.length, line: stats.line });
        } catch {
          // A missed sample is a gap in the series.
        }
      }
      peak.checkoutRssKb = Math.max(peak.checkoutRssKb, rssKb(checkoutPid));
      peak.brokerRssKb = Math.max(peak.brokerRssKb, rssKb(rabbitPid));
      // The depth over AMQP, every sample. The queue's memory only rabbitmqctl tells, and it starts
      // an Erlang VM of its own (0.6 s of CPU, a third of a core for a moment): once only, just
      // past the peak (the first sample 10% below it), so as not to load the sale it measures.
      const depth = await chargeQueue.depth();
      if (depth > peak.queueDepth) peak.queueDepth = depth;
      else if (!peak.queueBytes && peak.queueDepth > 1_000 && depth < 0.9 * peak.queueDepth) {
        peak.queueBytes = await chargeQueueBytes(system.namespace);
        peak.queueBytesAtDepth = depth;
      }
      await delay(500);
    }
  })();
  const saleCpuFrom = cpuSnapshot(new Map([...pids(), [process.pid, 'load generator']]));
  // When the last purchase arrives (the answers may take longer): from then on the intake no longer
  // takes its share of the two cores.
  const arrivalsEnd = Date.now() + (params.purchases / params.ratePerSecond) * 1_000;
  const answers = await offer({
    url: `${checkout.url}/orders`,
    body: buy(concertId),
    ratePerSecond: params.ratePerSecond,
    durationSeconds: params.purchases / params.ratePerSecond,
    answerTimeoutMs: params.answerTimeoutSeconds * 1_000,
    maxInFlight: params.maxVUs,
    onAnswer: ({ status, body }) => {
      if (status === 202) accepted.push(JSON.parse(body) as { orderId: string; estimatedWaitSeconds: number | null });
    },
  });
  const saleCpu = cpuBetween(saleCpuFrom, cpuSnapshot(new Map([...pids(), [process.pid, 'load generator']])));
  const drained = await waitFor(
    () => pendingOf(concertId),
    (n) => n === 0,
    {
      timeoutMs: params.settleTimeoutSeconds * 1_000,
      intervalMs: 250,
      description: 'every accepted order to settle',
    },
  ).then(
    () => true,
    () => false,
  );
  sampling = false;
  await sampler;
  await chargeQueue.close();

  const statuses = answers.statuses;
  const unexpected = Object.keys(statuses).filter((status) => !['202', '409', '503'].includes(status));
  const unanswered = answers.resets + answers.refused + answers.withoutAnswer + answers.dropped + Object.keys(answers.otherErrors).length;
  log(
    `  answers ${JSON.stringify(statuses)} in ${round(answers.seconds, 1)} s; 503 without Retry-After ${answers.withoutRetryAfter}; ` +
      `resets ${answers.resets}, refused ${answers.refused}, without an answer ${answers.withoutAnswer}, dropped ${answers.dropped}; peak in flight ${answers.peakInFlight}`,
  );
  log(
    `  the kernel's listen queues overflowed ${answers.listenOverflows.toLocaleString('en')} times while they were offered ` +
      `(a connection then waits for the client to try again: a second, then three, seven...)`,
  );
  log(
    `  latency ${Object.entries(answers.latencyMs)
      .map(([status, { p50, p99 }]) => `${status} p50 ${p50} ms p99 ${p99} ms`)
      .join(', ')}`,
  );

  log('  the requests, every 5 s and every second with drops:');
  for (const line of timelineTable(answers, '  ', (s) => s.second % 5 === 0 || s.dropped > 0)) log(line);

  const metrics = await (await fetch(`${checkout.url}/metrics`)).text();
  const turnedAway = Object.fromEntries(
    [...metrics.matchAll(/^boxoffice_accept_turned_away_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+)/gm)].map(([, reason, n]) => [
      reason,
      Number(n),
    ]),
  );
  log(`  503s by reason: ${JSON.stringify(turnedAway)}`);
  log(
    `  cores used while offered: ` +
      Object.entries(saleCpu)
        .sort(([, a], [, b]) => b - a)
        .map(([role, ms]) => `${role} ${(ms / 1_000 / answers.seconds).toFixed(2)}`)
        .join(', '),
  );
  log('  the line, every 5 s:     t  accepted   length  moves/s  new buyer waits  open');
  for (const sample of series.filter((_, i) => i % 5 === 0 || i === series.length - 1)) {
    const { length, drainPerSecond, estimatedWaitSeconds, open } = sample.line;
    log(
      `                     ${sample.t.toFixed(0).padStart(5)} ${String(sample.accepted).padStart(9)} ${String(length).padStart(8)} ` +
        `${String(drainPerSecond ?? '-').padStart(8)} ${String(estimatedWaitSeconds ?? '-').padStart(16)}  ${open ? 'yes' : 'no'}`,
    );
  }

  const orders = (
    await checkoutDb.query<{ id: string; status: string; reason: string | null; waited: number }>(
      `SELECT id::text, status::text, rejection_reason::text AS reason, extract(epoch FROM settled_at - created_at)::float8 AS waited
         FROM "order" WHERE concert_id = $1`,
      [concertId],
    )
  ).rows;
  const byId = new Map(orders.map((order) => [order.id, order]));
  if (process.env.BENCH_WAITING_ROOM_ORDERS) {
    // Every order of the sale, oldest number first, with the times the estimate can be judged by
    // (ms since the sale began; `created` is its transaction's start, a group commit's for a
    // crowd), and the line as the dashboard showed it (`t` in seconds since the sale began).
    const told = new Map(accepted.map((a) => [a.orderId, a.estimatedWaitSeconds]));
    const charged = new Map(
      (
        await billingDb.query<{ order_id: string; at: Date }>(`SELECT order_id::text, created_at AS at FROM charge WHERE concert_id = $1`, [
          concertId,
        ])
      ).rows.map((row) => [row.order_id, row.at.getTime() - saleStarted]),
    );
    const timed = (
      await checkoutDb.query<{
        id: string;
        line: number | null;
        status: string;
        created: number;
        decided: number | null;
        settled: number | null;
      }>(
        `SELECT id::text, line_number::float8 AS line, status::text,
                extract(epoch FROM created_at)::float8 * 1000 - $2 AS created,
                extract(epoch FROM decided_at)::float8 * 1000 - $2 AS decided,
                extract(epoch FROM settled_at)::float8 * 1000 - $2 AS settled
           FROM "order" WHERE concert_id = $1 ORDER BY line_number`,
        [concertId, saleStarted],
      )
    ).rows.map(({ id, ...times }) => ({ ...times, told: told.get(id) ?? null, charged: charged.get(id) ?? null }));
    writeFileSync(process.env.BENCH_WAITING_ROOM_ORDERS, JSON.stringify({ series, orders: timed }));
    log(`  ${timed.length} orders written to ${process.env.BENCH_WAITING_ROOM_ORDERS}`);
  }
  const lost = accepted.filter((a) => !byId.has(a.orderId)).length;
  const confirmed = orders.filter((o) => o.status === 'CONFIRMED').length;
  const soldOutLate = orders.filter((o) => o.reason === 'SOLD_OUT').length;

  // The drain, from Billing's own charges: after the offering ended, when Billing had the CPU to itself.
  const charges = (
    await billingDb.query<{ at: Date }>(`SELECT created_at AS at FROM charge WHERE concert_id = $1 ORDER BY created_at`, [concertId])
  ).rows.map((row) => row.at.getTime());
  // Billing's pace from its first charge of the sale to its last (the line was never empty between),
  // and over the part of it after the last purchase arrived.
  const drainRate = charges.length > 1 ? (charges.length - 1) / ((charges.at(-1)! - charges[0]) / 1_000) : NaN;
  const afterOffer = charges.filter((at) => at > arrivalsEnd);
  const drainRateAfter = afterOffer.length > 1 ? (afterOffer.length - 1) / ((afterOffer.at(-1)! - afterOffer[0]) / 1_000) : NaN;

  // The wait each buyer was told at acceptance, against the time to their outcome.
  const told = accepted.filter((a) => a.estimatedWaitSeconds !== null && byId.get(a.orderId)?.waited !== undefined);
  const longWaits = told.filter((a) => byId.get(a.orderId)!.waited > 5);
  // The median error, absolute and signed (above 0, buyers were told longer than they waited).
  const errorsOf = (buyers: typeof told) => {
    const median = (sorted: number[]) => (sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)] : NaN);
    const signed = buyers.map((a) => (a.estimatedWaitSeconds! - byId.get(a.orderId)!.waited) / byId.get(a.orderId)!.waited);
    return {
      buyers: buyers.length,
      medianError: median(signed.map(Math.abs).sort((x, y) => x - y)),
      medianSignedError: median(signed.sort((x, y) => x - y)),
    };
  };
  const { medianError, medianSignedError } = errorsOf(longWaits);
  const withoutEstimate = accepted.length - told.length;
  // Where the error lies: for the buyers who waited 5-10 s, 10-20 s, 20-40 s and longer.
  const bands = [
    [5, 10],
    [10, 20],
    [20, 40],
    [40, Infinity],
  ].map(([from, to]) => {
    const band = errorsOf(longWaits.filter((a) => byId.get(a.orderId)!.waited > from && byId.get(a.orderId)!.waited <= to));
    return {
      waited: to === Infinity ? `over ${from} s` : `${from}-${to} s`,
      buyers: band.buyers,
      medianError: round(band.medianError, 3),
      medianSignedError: round(band.medianSignedError, 3),
    };
  });

  const mailsToRejected = (
    await emailDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM sent_email WHERE "to" = $1 AND body ILIKE '%sold out before%'`, [
      BUYER,
    ])
  ).rows[0].n;
  // Before the waiting room every purchase was accepted: each one beyond the seats got a command,
  // a hold on Billing's inventory, a rejection and a mail.
  const answeredPurchases = (statuses['202'] ?? 0) + (statuses['409'] ?? 0);
  const beyondCapacityBefore = Math.max(0, answeredPurchases - params.capacity);

  log(
    `  orders: ${accepted.length} accepted (${lost} lost), ${confirmed} confirmed, ${soldOutLate} rejected as sold out after queueing; ${drained ? 'all settled' : 'NOT ALL SETTLED'}`,
  );
  log(
    `  drain: ${round(drainRate, 1)}/s over the sale, ${params.billingMaxRate}/s configured: ` +
      `${round((100 * (drainRate - params.billingMaxRate)) / params.billingMaxRate, 1)}% (${round(drainRateAfter, 1)}/s over the ${afterOffer.length} charges after the last purchase arrived)`,
  );
  log(
    `  estimates: median absolute error ${round(100 * medianError, 1)}% (median signed ${round(100 * medianSignedError, 1)}%, above 0 told too long) over ${longWaits.length} buyers who waited more than 5 s ` +
      `(${withoutEstimate} accepted before the line's rate was known were given none)`,
  );
  log(
    `  the same by how long they waited: ` +
      bands
        .filter(({ buyers }) => buyers > 0)
        .map(
          ({ waited, buyers, medianError, medianSignedError }) =>
            `${waited}, ${buyers} buyers: ${round(100 * medianError, 1)}% (signed ${round(100 * medianSignedError, 1)}%)`,
        )
        .join('; '),
  );
  log(
    `  work for buyers beyond the seats: ${soldOutLate} commands and holds, ${mailsToRejected} sold-out mails; ` +
      `without the door, ${beyondCapacityBefore.toLocaleString('en')} of each (${statuses['409'] ?? 0} told sold out at the door): ` +
      `${round((100 * soldOutLate) / Math.max(1, beyondCapacityBefore), 2)}%`,
  );
  log(
    `  peak memory: Checkout ${mb(peak.checkoutRssKb)} MB, RabbitMQ ${mb(peak.brokerRssKb)} MB; charge queue at most ` +
      `${peak.queueDepth.toLocaleString('en')} messages ready, ${round(peak.queueBytes / 1_048_576, 1)} MB at ${peak.queueBytesAtDepth.toLocaleString('en')} just past the peak`,
  );
  figures.sale = {
    statuses,
    turnedAway,
    coresWhileOffered: Object.fromEntries(Object.entries(saleCpu).map(([role, ms]) => [role, round(ms / 1_000 / answers.seconds, 2)])),
    unanswered,
    dropped: answers.dropped,
    listenOverflows: answers.listenOverflows,
    unexpected,
    withoutRetryAfter: answers.withoutRetryAfter,
    accepted: accepted.length,
    lost,
    confirmed,
    drained,
    drainRate: round(drainRate, 1),
    drainRateAfterOffering: round(drainRateAfter, 1),
    medianEstimateError: round(medianError, 3),
    medianSignedEstimateError: round(medianSignedError, 3),
    buyersOver5s: longWaits.length,
    estimateErrorByWait: bands,
    soldOutAfterQueueing: soldOutLate,
    soldOutMails: mailsToRejected,
    beyondCapacityBefore,
    peakCheckoutRssMb: mb(peak.checkoutRssKb),
    peakBrokerRssMb: mb(peak.brokerRssKb),
    peakQueueDepth: peak.queueDepth,
    peakQueueMb: round(peak.queueBytes / 1_048_576, 1),
  };
  const verdicts = {
    'every arrival answered (202, 409 sold out, 503 with Retry-After)':
      unanswered === 0 && unexpected.length === 0 && answers.withoutRetryAfter === 0,
    'none lost, all settled': lost === 0 && drained,
    'drained at the configured rate ±5%': Math.abs(drainRate - params.billingMaxRate) <= 0.05 * params.billingMaxRate,
    'estimate median error ≤ 20% (waits > 5 s)': medianError <= 0.2,
    'work beyond capacity ≤ 1% of before': soldOutLate <= 0.01 * beyondCapacityBefore,
    'every stream told its outcome, no position up': withOutcome === orderIds.length && followers.wentUp === 0,
  };
  log('');
  for (const [verdict, met] of Object.entries(verdicts)) log(`  ${met ? 'met    ' : 'NOT MET'} ${verdict}`);
  figures.verdicts = verdicts;
  // A profile is written when the process exits of itself, not at teardown's SIGKILL.
  if (process.env.BENCH_PROFILE_CHECKOUT) await checkout.stop();
  log(JSON.stringify(figures));
} finally {
  await mails.stop().catch(() => {});
  await Promise.all(pools.map((p) => p.end()));
  await system.teardown();
}

function buy(concertId: string) {
  return { concertId, quantity: 1, customerEmail: BUYER };
}

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function mb(kb: number): number {
  return round(kb / 1024);
}

/** RabbitMQ's process (infra:up's, or the machine's): its resident memory is the broker's. */
function brokerPid(): number {
  return [...cpuSnapshot(new Map()).processes].find(([, [role]]) => role === 'rabbitmq')?.[0] ?? 0;
}

/** The messages ready in the charge queue, read passively over AMQP: cheap enough for every sample. */
async function chargeQueueDepth(queue: string): Promise<{ depth(): Promise<number>; close(): Promise<void> }> {
  const connection = await amqp.connect(brokerAddress('RABBITMQ_URL'));
  let channel = await connection.createChannel();
  return {
    async depth() {
      try {
        return (await channel.checkQueue(queue)).messageCount;
      } catch {
        // A failed passive check closes the channel: a gap in the series, and a fresh channel.
        channel = await connection.createChannel().catch(() => channel);
        return 0;
      }
    },
    close: () => connection.close().catch(() => {}),
  };
}

/** The memory the charge queue of this namespace holds on RabbitMQ, by rabbitmqctl. */
async function chargeQueueBytes(namespace: string): Promise<number> {
  try {
    const { stdout } = await exec('rabbitmqctl', [
      '-q',
      'list_queues',
      '-p',
      new URL(brokerAddress('RABBITMQ_URL')).pathname.slice(1) || '/',
      'name',
      'memory',
    ]);
    const row = stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .find(([name]) => name === `${namespace}.${queues.chargeOrder}`);
    return row ? Number(row[1]) : 0;
  } catch {
    return 0;
  }
}
