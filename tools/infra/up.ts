// npm run infra:up - make PostgreSQL and the chosen brokers answer at the addresses the services
// use (PGHOST/PGPORT, RABBITMQ_URL, KAFKA_BROKERS, ACTIVEMQ_URL, SQS_ENDPOINT, KINESIS_ENDPOINT).
// See tools/infra/README.md.

// Brings up what the configuration uses (COMMAND_TRANSPORT, EVENT_TRANSPORT); `-- --all` brings
// up every server boxoffice can use, as `npm test` does.
import { allServers, ensureInfra, serversInUse } from './infra.ts';

let only;
try {
  only = process.argv.includes('--all') ? allServers() : serversInUse();
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
const summary = await ensureInfra({ only });
if (!summary.ok) {
  console.error('\ninfra:up could not provide everything; see the FAILED lines above.');
  process.exitCode = 1;
}
