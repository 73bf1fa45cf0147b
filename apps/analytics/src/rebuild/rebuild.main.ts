// `npm run analytics:rebuild`: Analytics' numbers counted again from the event log, while the
// service runs. A stream keeps every event for its retention (Kafka: 7 days, set when the topics
// are created; Kinesis: 24 hours by default), so the projections are disposable: they can be
// rebuilt after a bug fix, a new counter or a damaged table, from the events themselves. See
// projections.rebuild.ts for how. Kafka's topics are read from the earliest offset, Kinesis's
// streams from TRIM_HORIZON, to the end each had when the rebuild began.
//
// Settings: ANALYTICS_DATABASE_URL (default: the local boxoffice_analytics), EVENT_TRANSPORT,
// KAFKA_BROKERS or KINESIS_ENDPOINT, and BOXOFFICE_NAMESPACE, as the services read them;
// REBUILD_LOCK_TIMEOUT_MS (default 10000): how long to wait for the projections' lock before
// giving up, changing nothing.
import { ConfigError, env, loadConfig, serviceEnv } from '@boxoffice/config';
import { PgTransactionRunner, Routing, silentLogger } from '@boxoffice/messaging';
import { createKafkaClient, readTopicToEnd } from '@boxoffice/messaging-kafka';
import { createKinesisClient, readStreamToEnd } from '@boxoffice/messaging-kinesis';
import pg from 'pg';
import { z } from 'zod';
import { rebuildProjections, type LogRecord } from './projections.rebuild.js';

// ANALYTICS_DATABASE_URL, as for `npm run db:migrate`: a plain DATABASE_URL (in a .env, say) may
// well be another service's, and this tool rewrites tables.
const schema = z.object({
  ANALYTICS_DATABASE_URL: serviceEnv('analytics', 3003).DATABASE_URL,
  EVENT_TRANSPORT: serviceEnv('analytics', 3003).EVENT_TRANSPORT,
  KAFKA_BROKERS: serviceEnv('analytics', 3003).KAFKA_BROKERS,
  KINESIS_ENDPOINT: serviceEnv('analytics', 3003).KINESIS_ENDPOINT,
  AWS_REGION: serviceEnv('analytics', 3003).AWS_REGION,
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

/** Every record each of Analytics' channels holds now, from the stream the events travel on. */
function logReader(): () => Promise<LogRecord[]> {
  if (config.EVENT_TRANSPORT === 'kinesis') {
    const kinesis = createKinesisClient({ endpoint: config.KINESIS_ENDPOINT, region: config.AWS_REGION });
    return async () => {
      try {
        const records = await Promise.all(topics.map((stream) => readStreamToEnd(kinesis, stream, 300_000)));
        return records.flat().map((record) => ({ value: record.body }));
      } finally {
        kinesis.destroy();
      }
    };
  }
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'analytics-rebuild', logger: silentLogger });
  return async () => (await Promise.all(topics.map((topic) => readTopicToEnd(kafka, topic, 300_000)))).flat();
}
const pool = new pg.Pool({ connectionString: config.ANALYTICS_DATABASE_URL, max: 1 });
pool.on('error', () => {});
const started = performance.now();
try {
  const report = await new PgTransactionRunner(pool).$transaction(async (tx) => {
    await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = ${Number(config.REBUILD_LOCK_TIMEOUT_MS)}`);
    return rebuildProjections(tx, logReader());
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
