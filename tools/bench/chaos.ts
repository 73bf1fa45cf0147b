// `npm run bench:chaos`: assured delivery under faults, reconciled ledger by ledger.
//
//   1. All five services run as processes (two Billing instances) in a fresh namespace, Email
//      sending to an SMTP server in this process that records every mail.
//   2. Purchases and sign-ups flow the whole time: a buyer whose request gets no answer (the
//      service is down) asks again with the same Idempotency-Key, as a buyer's client would.
//   3. Meanwhile: both Billing instances, Checkout and Email are SIGKILLed in turn and started
//      again (their restart times are measured); then Kafka, RabbitMQ and PostgreSQL are
//      restarted, but only a server that infra:up started (or every one, with
//      BENCH_CHAOS_RESTART_ALL=1, through Debian's service commands): one it did not start is left
//      alone, and the bench says so.
//   4. Once everything has settled, every ledger is reconciled: orders accepted against orders
//      stored, confirmed against captured charges, seats sold against capacity, mails against
//      orders and sign-ups (and duplicates at the SMTP server), audit entries against events,
//      and every outbox empty.
// Prints the tally and the restart times, and ends with one line of JSON; exits 1 if a ledger
// does not reconcile. BENCH_CHAOS_SECONDS (default 60) sets how long the flow runs.
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { TestSmtpServer, waitFor } from '@boxoffice/testing';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { startNativeKafka, stopNativeKafka } from '../infra/kafka.ts';
import { readStarted } from '../infra/state.ts';
import { ensureBenchServers } from './bench.servers.ts';

const SECONDS = Number(process.env.BENCH_CHAOS_SECONDS ?? 60);
const ORDERS_PER_SECOND = 40;
const SIGNUPS_PER_SECOND = 5;
const CAPACITY = 1_000;
const restartAll = process.env.BENCH_CHAOS_RESTART_ALL === '1';

const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const t0 = performance.now();
await ensureBenchServers('bench:chaos');
const system = new TestSystem({});
const smtp = new TestSmtpServer();
const pools = new Map<string, pg.Pool>();
const db = (service: string) => {
  if (!pools.has(service)) {
    const pool = new pg.Pool({ connectionString: system.databaseUrl(service), max: 2 });
    pool.on('error', () => {}); // PostgreSQL restarted under us: the next query reconnects
    pools.set(service, pool);
  }
  return pools.get(service)!;
};
const one = async (service: string, sql: string, values: unknown[] = []) =>
  (await db(service).query(sql, values)).rows[0] as Record<string, number>;

try {
  const smtpUrl = await smtp.start();
  const processes = new Map<string, ServiceProcess>();
  const envs: Record<string, Record<string, string>> = {
    checkout: {},
    billing1: { PAYMENT_LATENCY_MS: '5' },
    billing2: { PAYMENT_LATENCY_MS: '5' },
    email: { SMTP_URL: smtpUrl },
    analytics: {},
    audit: {},
  };
  const serviceOf = (name: string) => name.replace(/\d$/, '');
  await Promise.all(Object.keys(envs).map(async (name) => processes.set(name, await system.start(serviceOf(name), envs[name]))));
  const url = () => processes.get('checkout')!.url;
  log(`started ${[...processes.keys()].join(', ')} in namespace ${system.namespace}`);

  /**
   * A request retried with the same body (and so the same Idempotency-Key) until it is answered
   * as `ok`, or as `done` (a sign-up whose first answer was lost with Checkout comes back 409).
   */
  const until = async (path: string, body: unknown, ok: number, headers: Record<string, string> = {}, done?: number) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`${url()}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
        if (response.status === ok || response.status === done) return (await response.json()) as Record<string, string>;
      } catch {
        // Checkout is down: ask again.
      }
      await delay(Math.min(1_000, 50 * 2 ** attempt));
    }
  };
  const concert = await until(
    '/concerts',
    { name: 'Chaos', startsAt: '2027-06-01T20:00:00Z', capacity: CAPACITY, priceCents: 1_000 },
    201,
    { 'x-admin-key': 'local-admin-key' },
  );
  await waitFor(
    () => one('billing', 'SELECT count(*)::int AS n FROM seat_inventory'),
    (r) => r.n === 1,
    { description: 'Billing to know the concert' },
  );

  // ---- the flow --------------------------------------------------------------------------------
  const accepted: string[] = [];
  const signedUp: string[] = [];
  let flowing = true;
  const flow = async (perSecond: number, fire: () => Promise<void>) => {
    const inFlight = new Set<Promise<void>>();
    while (flowing) {
      const request = fire().finally(() => inFlight.delete(request));
      inFlight.add(request);
      await delay(1_000 / perSecond);
    }
    await Promise.all(inFlight);
  };
  const flows = Promise.all([
    flow(ORDERS_PER_SECOND, async () => {
      const key = randomUUID();
      const { orderId } = await until(
        '/orders',
        { concertId: concert.id, quantity: 1 + (accepted.length % 2), customerEmail: 'buyer@example.com' },
        202,
        { 'idempotency-key': key },
      );
      accepted.push(orderId);
    }),
    flow(SIGNUPS_PER_SECOND, async () => {
      const email = `${randomUUID()}@example.com`;
      await until('/users', { email, name: 'Chaos' }, 201, {}, 409);
      signedUp.push(email);
    }),
  ]);

  // ---- the faults ------------------------------------------------------------------------------
  const restarts: Record<string, { acceptingMs: number; readyMs: number }> = {};
  const every = SECONDS / 8;
  const kill = async (name: string) => {
    await delay(every * 1_000);
    log(`SIGKILL ${name}`);
    await processes.get(name)!.kill();
    const started = performance.now();
    const restarted = await system.start(serviceOf(name), envs[name], { waitFor: 'accepting' });
    processes.set(name, restarted);
    const acceptingMs = Math.round(performance.now() - started);
    // Ready means consuming too: a Kafka group join waits for the dead member's session to time out.
    await waitFor(
      () => fetch(`${restarted.url}/health/ready`).then((r) => r.status),
      (status) => status === 200,
      { timeoutMs: 60_000, intervalMs: 100, description: `${name} ready` },
    );
    restarts[name] = { acceptingMs, readyMs: Math.round(performance.now() - started) };
    log(`${name} accepting again after ${acceptingMs} ms, ready (consuming) after ${restarts[name].readyMs} ms`);
  };
  const servers: Record<string, string> = {};
  const restartServer = async (name: 'kafka' | 'rabbitmq' | 'postgres') => {
    await delay(every * 1_000);
    const started = readStarted()[name];
    if (name === 'kafka' && started?.via === 'native') {
      log('restarting Kafka (infra:up started it)');
      await stopNativeKafka();
      startNativeKafka({ host: '127.0.0.1', port: 9092 }, () => {});
      servers.kafka = 'restarted';
    } else if (restartAll && name !== 'kafka') {
      log(`restarting ${name} (BENCH_CHAOS_RESTART_ALL=1)`);
      if (name === 'rabbitmq') {
        execFileSync('rabbitmqctl', ['stop_app']);
        execFileSync('rabbitmqctl', ['start_app']);
      } else {
        execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', '15', 'main', 'restart']);
      }
      servers[name] = 'restarted';
    } else {
      log(`leaving ${name} alone: infra:up did not start it (BENCH_CHAOS_RESTART_ALL=1 restarts it anyway)`);
      servers[name] = 'left alone: not started by infra:up';
    }
  };
  await kill('billing1');
  await kill('billing2');
  await kill('checkout');
  await kill('email');
  await restartServer('kafka');
  await restartServer('rabbitmq');
  await restartServer('postgres');
  await delay(every * 1_000);
  flowing = false;
  await flows;
  log(`the flow stopped: ${accepted.length} purchases and ${signedUp.length} sign-ups accepted`);

  // ---- settle and reconcile --------------------------------------------------------------------
  const outboxes = async () => {
    let pending = 0;
    for (const service of ['checkout', 'billing'])
      pending += (await one(service, `SELECT count(*)::int AS n FROM outbox_message WHERE status = 'pending'`)).n;
    return pending;
  };
  await waitFor(
    async () => ({
      pending: (await one('checkout', `SELECT count(*)::int AS n FROM "order" WHERE status = 'PENDING'`)).n,
      mails: (await one('email', `SELECT count(*)::int AS n FROM sent_email WHERE status = 'SENT'`)).n,
      outboxes: await outboxes(),
    }),
    (s) => s.pending === 0 && s.mails >= accepted.length + signedUp.length && s.outboxes === 0,
    { timeoutMs: 300_000, intervalMs: 500, description: 'every order settled, every mail sent, every outbox empty' },
  );
  const orders = await one(
    'checkout',
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed,
      coalesce(sum(quantity) FILTER (WHERE status = 'CONFIRMED'), 0)::int AS seats FROM "order" WHERE id = ANY($1::uuid[])`,
    [accepted],
  );
  const charges = await one(
    'billing',
    `SELECT count(*)::int AS charges, count(DISTINCT order_id)::int AS orders,
      count(*) FILTER (WHERE status = 'CAPTURED')::int AS captured FROM charge`,
  );
  const seats = await one('billing', 'SELECT seats_sold AS sold, capacity FROM seat_inventory');
  const users = await one('checkout', 'SELECT count(*)::int AS n FROM "user"');
  const mailIds = smtp.received.map((mail) => mail.messageId);
  const distinctMails = new Set(mailIds).size;
  const audited = await one('audit', 'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct FROM audit_log');
  // Every event the system published: ConcertScheduled, a payment verdict and a settlement per order, a UserRegistered per sign-up.
  const events = 1 + 2 * orders.total + users.n;

  const tally = {
    accepted: accepted.length,
    lost: accepted.length - orders.total,
    confirmed: orders.confirmed,
    captured: charges.captured,
    doubleCharges: charges.charges - charges.orders,
    seatsSold: seats.sold,
    seatsOfConfirmedOrders: orders.seats,
    capacity: seats.capacity,
    signUps: signedUp.length,
    usersStored: users.n,
    mailsReceived: mailIds.length,
    distinctMails,
    duplicateMails: mailIds.length - distinctMails,
    mailsExpected: orders.total + users.n,
    auditEntries: audited.n,
    eventsPublished: events,
    outboxesPending: await outboxes(),
  };
  const ok =
    tally.lost === 0 &&
    tally.confirmed === tally.captured &&
    tally.doubleCharges === 0 &&
    tally.seatsSold === tally.seatsOfConfirmedOrders &&
    tally.seatsSold <= tally.capacity &&
    tally.usersStored === tally.signUps &&
    tally.distinctMails === tally.mailsExpected &&
    tally.auditEntries === tally.eventsPublished &&
    tally.outboxesPending === 0;
  console.log('\ntally');
  for (const [name, value] of Object.entries(tally)) console.log(`  ${name.padEnd(24)} ${value}`);
  console.log(`restart times (ms from the new process's spawn to /health/accepting and /health/ready): ${JSON.stringify(restarts)}`);
  console.log(`servers: ${JSON.stringify(servers)}`);
  console.log(ok ? 'every ledger reconciles' : 'A LEDGER DOES NOT RECONCILE: see the tally above');
  console.log(JSON.stringify({ ok, tally, restartsMs: restarts, servers, seconds: SECONDS }));
  process.exitCode = ok ? 0 : 1;
} finally {
  await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
  await system.teardown().catch(() => undefined);
  await smtp.stop().catch(() => undefined);
}
