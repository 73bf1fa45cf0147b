// `npm run analytics:rebuild`: Analytics' numbers counted again from the event log, while the
// service runs. A log keeps every event for its retention (Kafka and NATS: 7 days, set when the
// topics and streams are created; Kinesis: 24 hours by default), so the projections are
// disposable: they can be rebuilt after a bug fix, a new counter or a damaged table, from the
// events themselves. See projections.rebuild.ts for how. Each of Analytics' channels is read from
// its oldest record to the end it had when the rebuild began (the transport's `readToEnd`).
//
// Settings: ANALYTICS_DATABASE_URL (default: the local boxoffice_analytics), EVENT_TRANSPORT and
// its broker's address, and BOXOFFICE_NAMESPACE, as the services read them;
// REBUILD_LOCK_TIMEOUT_MS (default 10000): how long to wait for the projections' lock before
// giving up, changing nothing.
import { ConfigError, env, loadConfig, serviceEnv } from '@boxoffice/config';
import { PgTransactionRunner, Routing, silentLogger } from '@boxoffice/messaging';
import { brokerSettings, connectWithin, createTransports } from '@boxoffice/platform';
import pg from 'pg';
import { z } from 'zod';
import { rebuildProjections } from './projections.rebuild.js';

// ANALYTICS_DATABASE_URL, as for `npm run db:migrate`: a plain DATABASE_URL (in a .env, say) may
// well be another service's, and this tool rewrites tables.
const schema = z.object({
  ...serviceEnv('analytics', 3003),
  ANALYTICS_DATABASE_URL: serviceEnv('analytics', 3003).DATABASE_URL,
  REBUILD_LOCK_TIMEOUT_MS: env.positiveInt(10_000),
});
let config: z.infer<typeof schema>;
try {
  config = loadConfig(schema);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}

const brokers = brokerSettings(config);
const routing = new Routing({ transports: brokers.transports, namespace: brokers.namespace });
const topics = routing.sourcesOf('analytics').flatMap((source) => source.channels);
// The event transport, built as the services' MessagingRuntime builds it.
const [log] = createTransports([brokers.transports.event], {
  client: 'analytics-rebuild',
  brokers,
  routing,
  logger: silentLogger,
}).values();
if (!log.readToEnd) {
  console.error(`EVENT_TRANSPORT=${log.name} keeps no log to rebuild from.`);
  process.exit(2);
}
const readToEnd = log.readToEnd.bind(log);

const pool = new pg.Pool({ connectionString: config.ANALYTICS_DATABASE_URL, max: 1 });
pool.on('error', () => {});
const started = performance.now();
try {
  await connectWithin(log);
  const report = await new PgTransactionRunner(pool).$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = ${Number(config.REBUILD_LOCK_TIMEOUT_MS)}`);
    return rebuildProjections(tx, async () =>
      (await Promise.all(topics.map((topic) => readToEnd(topic, 300_000)))).flat().map(({ body }) => ({ value: body })),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  const read = report.counted + report.leftToLiveConsumer + report.passedOver;
  console.log(
    `Rebuilt: ${report.counted} events counted from ${read} records of ${topics.join(', ')} in ${seconds.toFixed(1)} s (${Math.round(read / seconds)} records/s).\n` +
      `${report.leftToLiveConsumer} events the running Analytics had not handled yet are left to it; ${report.passedOver} records of other types passed over.`,
  );
} catch (error) {
  console.error(`The rebuild changed nothing: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await Promise.allSettled([pool.end(), log.close()]);
}
