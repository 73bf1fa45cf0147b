// The benchmark proper of `npm run bench:fanout` (see fanout.ts, which runs it).
import { brokerAddress, kafkaAccountOf } from '@boxoffice/config';
import { topics, UserRegistered } from '@boxoffice/contracts';
import { EnvelopeFactory, Outbox, uuidV7, type Destination, type SqlExecutor } from '@boxoffice/messaging';
import { createKafkaClient, KafkaTopics } from '@boxoffice/messaging-kafka';
import type { ServiceProcess, TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { FanoutMailSink } from './fanout.mail-sink.ts';
import { signUpsThroughTheApi } from './fanout.signups.ts';
import { readParams } from './params.reader.ts';

const EVENTS = Number(process.env.FANOUT_EVENTS ?? 50_000);
/**
 * Partitions of the users topic, and how many of them each subscriber handles at once
 * (KAFKA_CONCURRENCY). A group handles one event at a time per partition, so this bounds its
 * parallelism; the services' own default is 3, which leaves these subscribers waiting on I/O.
 */
const PARTITIONS = Number(process.env.FANOUT_PARTITIONS ?? 12);
/** Sign-ups per transaction, and transactions written at once. */
const BATCH = 500;
const WRITERS = 3;

/**
 * Where the subscribers and the rebuild tool write their CPU profiles (`npm run bench:fanout --
 * --cpu-prof`), or null: a profile is what says what bounds a subscriber's rate.
 */
export interface FanoutOptions {
  readonly cpuProfiles: string | null;
}

export async function runFanoutBench(system: TestSystem, services: ReadonlyArray<string>, { cpuProfiles }: FanoutOptions): Promise<void> {
  const started = Date.now();
  /** A process's environment, asking Node for a CPU profile at exit when profiles were asked for. */
  const profiled = (env: Record<string, string>): Record<string, string> =>
    cpuProfiles ? { ...env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfiles}` } : env;
  // The users topic as this system's services name it, under its namespace.
  const usersTopic = system.routing.nameOf(topics.users);
  const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const sink = new FanoutMailSink();
  const pools = new Map<string, pg.Pool>();
  const db = (service: string) => {
    if (!pools.has(service)) pools.set(service, new pg.Pool({ connectionString: system.databaseUrl(service), max: WRITERS + 1 }));
    return pools.get(service)!;
  };
  const kafka = () =>
    createKafkaClient({
      brokers: brokerAddress('KAFKA_BROKERS').split(','),
      clientId: 'bench-fanout',
      account: kafkaAccountOf('bench-fanout'),
      logLevel: 'error',
    });
  const count = async (service: string, sql: string) => Number((await db(service).query(sql)).rows[0].n);

  let cleaning: Promise<void> | null = null;
  const cleanUp = () => {
    cleaning ??= (async () => {
      await Promise.all([...pools.values()].map((pool) => pool.end().catch(() => undefined)));
      await system.teardown().catch((error: unknown) => log(`teardown: ${String(error)}`));
      await sink.stop();
      log(`cleaned up: processes stopped, databases dropped, namespace ${system.namespace} deleted from the brokers`);
    })();
    return cleaning;
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

  try {
    const smtpUrl = await sink.start();
    // Created before Checkout starts, which would otherwise create it with the default 3 partitions.
    await new KafkaTopics(kafka()).ensure([{ topic: usersTopic, partitions: PARTITIONS }]);
    log(`starting checkout in namespace ${system.namespace}; ${usersTopic} has ${PARTITIONS} partitions`);
    const running = new Map<string, ServiceProcess>();
    const envOf = (service: string) =>
      profiled({ KAFKA_CONCURRENCY: String(PARTITIONS), ...(service === 'email' ? { SMTP_URL: smtpUrl } : {}) });
    running.set('checkout', await system.start('checkout', profiled({})));

    // --- 1. the burst -------------------------------------------------------------------------
    log(`writing ${EVENTS} sign-ups to Checkout's outbox, ${BATCH} per transaction, ${WRITERS} transactions at a time`);
    const occurredAt = new Map<string, number>();
    const envelopes = new EnvelopeFactory('checkout');
    const outbox = new Outbox();
    const writeStart = Date.now();
    /** One batch as POST /users writes each sign-up: the user rows and their events, in one transaction. */
    const writeBatch = async (from: number, to: number) => {
      const client = await db('checkout').connect();
      try {
        await client.query('BEGIN');
        const users = Array.from({ length: to - from }, (_, i) => ({
          id: uuidV7(),
          email: `fan${from + i}@bench.example`,
          name: `Fan ${from + i}`,
        }));
        await client.query('INSERT INTO "user" (id, email, name) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])', [
          users.map((u) => u.id),
          users.map((u) => u.email),
          users.map((u) => u.name),
        ]);
        const tx: SqlExecutor = {
          $executeRawUnsafe: async (query, ...values) => (await client.query(query, values)).rowCount ?? 0,
          $queryRawUnsafe: async <T>(query: string, ...values: unknown[]) => (await client.query(query, values)).rows as T,
        };
        const entries = users.map((user) => {
          const envelope = envelopes.create(UserRegistered, {
            userId: user.id,
            email: user.email,
            name: user.name,
            ip: '127.0.0.1',
            userAgent: 'bench:fanout',
          });
          occurredAt.set(envelope.id, Date.parse(envelope.occurredAt));
          return { envelope, destination: { transport: 'kafka', channel: usersTopic, key: user.id } satisfies Destination };
        });
        await outbox.addMany(tx, entries);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < EVENTS) {
          const from = next;
          next = Math.min(EVENTS, next + BATCH);
          await writeBatch(from, next);
        }
      }),
    );
    const writeSeconds = (Date.now() - writeStart) / 1000;
    log(`written in ${writeSeconds.toFixed(1)} s`);
    // The subscribers start once the log holds the whole burst, so each one's rate is its own,
    // not the relay's: all three drain the same backlog at once, sharing the machine.
    await waitFor(
      () => count('checkout', `SELECT count(*) AS n FROM outbox_message WHERE status = 'pending'`),
      (n) => n === 0,
      { timeoutMs: 300_000, intervalMs: 250, description: 'the relay to publish every event' },
    );
    const publishSeconds = (Date.now() - writeStart) / 1000;
    log(`published in ${publishSeconds.toFixed(1)} s; starting ${services.filter((s) => s !== 'checkout').join(', ')}`);
    await Promise.all(
      services
        .filter((service) => service !== 'checkout')
        .map(async (service) => running.set(service, await system.start(service, envOf(service)))),
    );

    // --- 2. the fan-out -----------------------------------------------------------------------
    /** How many sign-ups each subscriber has handled: mailed, counted, recorded. */
    const handled = {
      email: () => count('email', `SELECT count(*) AS n FROM sent_email WHERE status = 'SENT'`),
      analytics: () => count('analytics', 'SELECT coalesce(sum(signups), 0) AS n FROM daily_signups'),
      audit: () => count('audit', 'SELECT count(*) AS n FROM audit_log'),
    };
    const progress = async () => ({
      published: await count('checkout', `SELECT count(*) AS n FROM outbox_message WHERE status = 'published' AND type = 'UserRegistered'`),
      email: await handled.email(),
      analytics: await handled.analytics(),
      audit: await handled.audit(),
    });
    let lastReport = 0;
    await waitFor(
      progress,
      (p) => {
        if (Date.now() - lastReport > 5_000) {
          lastReport = Date.now();
          log(`published ${p.published}, email ${p.email} (mails received ${sink.received}), analytics ${p.analytics}, audit ${p.audit}`);
        }
        return p.email === EVENTS && p.analytics === EVENTS && p.audit === EVENTS;
      },
      { timeoutMs: 900_000, intervalMs: 500, description: 'every subscriber to process every event' },
    );
    log('every subscriber has processed every event');

    const processedAt = async (service: string, sql: string) => (await db(service).query<{ id: string; at: Date }>(sql)).rows;
    const summarise = (rows: Array<{ id: string; at: Date }>) => summary(rows, occurredAt);
    const subscribers = {
      email: summarise(await processedAt('email', 'SELECT event_id AS id, sent_at AS at FROM sent_email')),
      analytics: summarise(
        await processedAt('analytics', `SELECT message_id AS id, received_at AS at FROM inbox_message WHERE consumer = 'analytics'`),
      ),
      audit: summarise(await processedAt('audit', 'SELECT event_id AS id, recorded_at AS at FROM audit_log')),
    };
    const allProcessedSeconds = (Math.max(...Object.values(subscribers).map((s) => s.lastAt)) - writeStart) / 1000;

    // --- 3. the rebuild -----------------------------------------------------------------------
    // Damaged numbers, as after a bug, rebuilt from the log while Analytics runs.
    log('rebuild: zeroing the sign-up counts, then analytics:rebuild with Analytics running');
    await db('analytics').query('UPDATE daily_signups SET signups = 0');
    const rebuildStart = Date.now();
    // The built tool, as the services run and as the image runs it (`node dist/apps/analytics/src/
    // rebuild/rebuild.main.js`); `npm run analytics:rebuild` compiles the sources as it loads them,
    // which adds about 4 s to its start on this machine.
    const tool = spawn(process.execPath, ['dist/apps/analytics/src/rebuild/rebuild.main.js'], {
      env: profiled({
        ...process.env,
        BOXOFFICE_NAMESPACE: system.namespace,
        ANALYTICS_DATABASE_URL: system.databaseUrl('analytics'),
      } as Record<string, string>),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [toolExit] = await once(tool, 'exit');
    if (toolExit !== 0) throw new Error(`analytics:rebuild exited with ${toolExit}`);
    // The tool's whole run: its start, reading the log, the fold and the write.
    const rebuildSeconds = (Date.now() - rebuildStart) / 1000;
    const signups = await count('analytics', 'SELECT coalesce(sum(signups), 0) AS n FROM daily_signups');
    const rebuildEventsPerSecond = Math.round(EVENTS / rebuildSeconds);
    log(
      `rebuilt in ${rebuildSeconds.toFixed(1)} s (${rebuildEventsPerSecond} events/s, the tool's start included); sign-ups counted: ${signups}`,
    );
    if (signups !== EVENTS) throw new Error(`the rebuild counted ${signups} sign-ups, not ${EVENTS}`);

    // --- 4. sign-ups through the API ----------------------------------------------------------
    const signupParams = readParams().signupFanout;
    log(
      `POST /users: ${signupParams.signups} sign-ups from ${signupParams.vus} clients, each sending its next once the last is answered (k6/signup-fanout.js)`,
    );
    const before = await progress();
    const api = await signUpsThroughTheApi(running.get('checkout')!.url, signupParams, {
      email: async (n) => (await handled.email()) >= before.email + n,
      analytics: async (n) => (await handled.analytics()) >= before.analytics + n,
      audit: async (n) => (await handled.audit()) >= before.audit + n,
    });
    log(
      `POST /users: ${api.signups} in ${api.seconds.toFixed(1)} s = ${api.perSecond}/s, answers ${JSON.stringify(api.statuses)}; ` +
        `202 p50 ${api.latencyMs.p50} ms, p95 ${api.latencyMs.p95} ms, p99 ${api.latencyMs.p99} ms (k6's threshold: p95 < ${signupParams.p95Ms} ms)`,
    );
    log(
      `caught up after the last answer: ${Object.entries(api.catchUpMs)
        .map(([subscriber, ms]) => `${subscriber} ${ms === null ? 'NOT within the deadline' : `${ms} ms`}`)
        .join(', ')}`,
    );

    if (cpuProfiles) {
      // Stopped gracefully, as Node writes a profile only on a normal exit (the teardown kills).
      await Promise.all([...running.values()].map((service) => service.stop()));
      log(`CPU profiles written to ${cpuProfiles}/ (CPU.<date>.<pid>.*.cpuprofile; the pids are in the services' logs)`);
    }
    await cleanUp();
    log('done');
    console.log(
      JSON.stringify({
        events: EVENTS,
        partitions: PARTITIONS,
        writeSeconds: round(writeSeconds),
        publishSeconds: round(publishSeconds),
        allProcessedSeconds: round(allProcessedSeconds),
        subscribers: Object.fromEntries(
          Object.entries(subscribers).map(([name, s]) => [name, { eventsPerSecond: s.eventsPerSecond, p50Ms: s.p50Ms, p99Ms: s.p99Ms }]),
        ),
        rebuild: { seconds: round(rebuildSeconds), eventsPerSecond: rebuildEventsPerSecond },
        signUps: { perSecond: api.perSecond, statuses: api.statuses, ...api.latencyMs, catchUpMs: api.catchUpMs },
      }),
    );
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** One subscriber's figures: its own rate (first to last event it processed) and its end-to-end latencies. */
function summary(rows: Array<{ id: string; at: Date }>, occurredAt: Map<string, number>) {
  const times = rows.map((row) => row.at.getTime());
  const firstAt = Math.min(...times);
  const lastAt = Math.max(...times);
  const latencies = rows.map((row) => row.at.getTime() - occurredAt.get(row.id)!).sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
  return {
    firstAt,
    lastAt,
    eventsPerSecond: Math.round(rows.length / Math.max(0.001, (lastAt - firstAt) / 1000)),
    p50Ms: percentile(50),
    p99Ms: percentile(99),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
