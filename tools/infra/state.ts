// What infra:up started, so infra:down stops exactly that and never a server it only reused.
// Kept in .cache/infra-started.json; a service missing from the file was not started by us.

import fs from 'node:fs';
import path from 'node:path';
import { startedFile } from './paths.ts';

export type ServiceName = 'postgres' | 'rabbitmq' | 'kafka' | 'activemq' | 'sqs' | 'kinesis' | 'nats';

export type Started =
  // A container of docker-compose.yml; infra:down runs `docker compose down`.
  | { via: 'docker'; at: string }
  // A native server; infra:down runs `stop` (Kafka's is handled by kafka.ts through its pid file).
  | { via: 'native'; at: string; stop?: string[]; pid?: number };

export type StartedServices = Partial<Record<ServiceName, Started>>;

export function readStarted(): StartedServices {
  try {
    return JSON.parse(fs.readFileSync(startedFile, 'utf8')) as StartedServices;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

export function writeStarted(started: StartedServices): void {
  fs.mkdirSync(path.dirname(startedFile), { recursive: true });
  if (Object.keys(started).length === 0) fs.rmSync(startedFile, { force: true });
  else fs.writeFileSync(startedFile, `${JSON.stringify(started, null, 2)}\n`);
}
