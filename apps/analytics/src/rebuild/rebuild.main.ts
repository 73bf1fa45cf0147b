// `npm run analytics:rebuild`: Analytics' numbers counted again from the event log, while the
// service runs. Kafka keeps every event for the topic's retention (7 days, set when the topics
// are created), so the projections are disposable: they can be rebuilt after a bug fix, a new
// counter or a damaged table, from the events themselves. See projections.rebuild.ts for how.
//
// Settings: ANALYTICS_DATABASE_URL (default: the local boxoffice_analytics), KAFKA_BROKERS and
// BOXOFFICE_NAMESPACE, as the services read them; REBUILD_LOCK_TIMEOUT_MS (default 10000): how
// long to wait for the projections' lock before giving up, changing nothing.
import { ConfigError, env, loadConfig, serviceEnv } from '@boxoffice/config';
import { PgTransactionRunner, Routing, silentLogger } from '@boxoffice/messaging';
import { createKafkaClient, readTopicToEnd } from '@boxoffice/messaging-kafka';
import pg from 'pg';
import { z } from 'zod';
import { rebuildProjections } from './projections.rebuild.js';

// ANALYTICS_DATABASE_URL, as for `npm run db:migrate`: a plain DATABASE_URL (in a .env, say) may
// well be another service's, and this tool rewrites tables.
const schema = z.object({
  ANALYTICS_DATABASE_URL: serviceEnv('analytics', 3003).DATABASE_URL,
  KAFKA_BROKERS: serviceEnv('analytics', 3003).KAFKA_BROKERS,
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

const topics = new Routing().sourcesOf('analytics').flatMap((source) => source.channels);
const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'analytics-rebuild', logger: silentLogger });
const pool = new pg.Pool({ connectionString: config.ANALYTICS_DATABASE_URL, max: 1 });
pool.on('error', () => {});
const started = performance.now();
try {
  const report = await new PgTransactionRunner(pool).$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = ${Number(config.REBUILD_LOCK_TIMEOUT_MS)}`);
    return rebuildProjections(tx, async () => (await Promise.all(topics.map((topic) => readTopicToEnd(kafka, topic, 300_000)))).flat());
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
  await pool.end();
}
