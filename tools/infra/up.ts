// npm run infra:up - make PostgreSQL, RabbitMQ and Kafka answer at the addresses the services
// use (PGHOST/PGPORT, RABBITMQ_URL, KAFKA_BROKERS). See tools/infra/README.md.

import { ensureInfra } from './infra.ts';

const summary = await ensureInfra();
if (!summary.ok) {
  console.error('\ninfra:up could not provide everything; see the FAILED lines above.');
  process.exitCode = 1;
}
