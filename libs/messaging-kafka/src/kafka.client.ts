import type { Logger } from '@boxoffice/messaging';
import kafkajs, { type Admin, type Kafka } from 'kafkajs';
import { applyKafkaJsRequestQueueFix } from './kafkajs.request-queue.fix.js';
import { kafkaLogCreator, kafkaLogLevels, type KafkaLogLevel } from './kafka.logger.js';

export interface KafkaClientOptions {
  /** host:port of one or more brokers; any one answering is enough to find the rest. */
  readonly brokers: ReadonlyArray<string>;
  /** Names this process in broker logs and in `kafka-consumer-groups --describe` (e.g. `billing`). */
  readonly clientId: string;
  /** kafkajs logs below this level are dropped. Default `warn`. */
  readonly logLevel?: KafkaLogLevel;
  /** Where kafkajs's logs go. Default `console`, as kafkajs itself does, so broker trouble is never silent. */
  readonly logger?: Logger;
}

/**
 * Builds the kafkajs client every other class in this lib takes. One per process is enough: the
 * publisher, consumers and admin tools each open their own connections from it.
 */
export function createKafkaClient({ brokers, clientId, logLevel = 'warn', logger = console }: KafkaClientOptions): Kafka {
  applyKafkaJsRequestQueueFix();
  return new kafkajs.Kafka({
    brokers: [...brokers],
    clientId,
    logLevel: kafkaLogLevels[logLevel],
    logCreator: kafkaLogCreator(logger),
  });
}

/** Runs `work` with a connected admin client, and disconnects it afterwards whatever happens. */
export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}
