// `npm run analytics:rebuild`: throws Analytics' numbers away and has the service count them
// again from the event log. Kafka keeps every event for the topic's retention (7 days, set by
// the messaging runtime when it creates the topics), so the projections are disposable: they can
// be rebuilt after a bug fix, a new counter or a lost database, from the events themselves.
//
// The operator stops Analytics first; this tool refuses to run while the consumer group has a
// member. Then it
//   1. moves the `analytics` group's offsets back to the oldest record kept, on every topic it reads;
//   2. empties the projections and Analytics' inbox rows, in one transaction;
// and the service, on its next start, reads every retained event again through its usual handlers.
//
// Steps 1 and 2 are in this order because it is the safe one: if 2 fails after 1, the replay meets
// the old inbox rows and counts nothing twice; the other way round, the numbers would stay empty.
//
// Settings: ANALYTICS_DATABASE_URL (default: the local boxoffice_analytics), KAFKA_BROKERS and
// BOXOFFICE_NAMESPACE, as the services read them.
import { ConfigError, loadConfig, serviceEnv } from '@boxoffice/config';
import { catalog, consumerGroup } from '@boxoffice/contracts';
import { createKafkaClient, KafkaReplay } from '@boxoffice/messaging-kafka';
import pg from 'pg';
import { z } from 'zod';

/** The tables Analytics derives from events (apps/analytics/prisma/schema.prisma, "Projections"). */
const PROJECTIONS = ['daily_signups', 'daily_sales', 'concert_sales'];

// ANALYTICS_DATABASE_URL, as for `npm run db:migrate`: a plain DATABASE_URL (in a .env, say) may
// well be another service's, and this tool empties tables.
const env = z.object({
  ANALYTICS_DATABASE_URL: serviceEnv('analytics', 3003).DATABASE_URL,
  KAFKA_BROKERS: serviceEnv('analytics', 3003).KAFKA_BROKERS,
});
let config: z.infer<typeof env>;
try {
  config = loadConfig(env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const groupId = consumerGroup('analytics');
const topics = [...new Set(catalog.flatMap((e) => (e.consumers.includes('analytics') && e.route.transport === 'kafka' ? [e.route.topic] : [])))];
const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'analytics-rebuild', logLevel: 'error' });
const admin = kafka.admin();
await admin.connect();

/** Who is in the group right now, as `clientId@host`; empty when every instance has stopped. */
async function members(): Promise<string[]> {
  const { groups } = await admin.describeGroups([groupId]);
  return groups.flatMap((group) => group.members.map((member) => `${member.clientId}@${member.clientHost.replace(/^\//, '')}`));
}

function refuse(present: string[], after: string): never {
  console.error(
    `Analytics is still consuming: consumer group ${groupId} has ${present.length} member(s) (${present.join(', ')}).\n` +
      'Stop every Analytics instance first (Ctrl-C in `npm start`, or `docker compose stop analytics`); an instance that\n' +
      `crashed leaves the group once its session times out (30 s). Then run this again. ${after}`,
  );
  process.exit(1);
}

try {
  const present = await members();
  if (present.length > 0) refuse(present, 'Nothing was changed.');

  let retained = 0;
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic).catch(() => []);
    const records = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    retained += records;
    await new KafkaReplay(kafka).fromEarliest(groupId, topic);
    console.log(`${topic}: group ${groupId} now starts at the oldest retained record (${records} records on ${offsets.length} partitions)`);
  }

  const db = new pg.Client({ connectionString: config.ANALYTICS_DATABASE_URL });
  try {
    await db.connect();
    await db.query('BEGIN');
    await db.query(`TRUNCATE ${PROJECTIONS.join(', ')}`);
    const inbox = await db.query(`DELETE FROM inbox_message WHERE consumer = 'analytics'`);
    await db.query('COMMIT');
    console.log(`emptied ${PROJECTIONS.join(', ')} and ${inbox.rowCount} inbox rows of analytics`);
  } catch (error) {
    console.error(
      `The offsets were moved back, but emptying the projections failed: ${(error as Error).message}\n` +
        'Starting Analytics now changes nothing (its inbox skips every event it reads again). Run this again to rebuild.',
    );
    process.exit(1);
  } finally {
    await db.end().catch(() => undefined);
  }

  const joined = await members();
  if (joined.length > 0) refuse(joined, 'It joined while the projections were being emptied: run this again once it is stopped.');
  console.log(
    `Ready: start Analytics and it replays ${retained} retained events into empty projections.\n` +
      `Watch it catch up with GET /stats, or the lag of group ${groupId} (it reaches 0 when the rebuild is done).`,
  );
} finally {
  await admin.disconnect();
}
