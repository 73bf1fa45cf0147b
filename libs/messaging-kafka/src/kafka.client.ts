import { Kafka } from 'kafkajs';
import { applyKafkaJsRequestQueueFix } from './kafkajs.request-queue.fix.js';
import { consoleKafkaLogger, kafkaLogCreator, kafkaLogLevels, type KafkaLogger, type KafkaLogLevel } from './kafka.logger.js';

export interface KafkaClientOptions {
  /** host:port of one or more brokers; any one answering is enough to find the rest. */
  readonly brokers: ReadonlyArray<string>;
  /** Names this process in broker logs and in `kafka-consumer-groups --describe` (e.g. `billing`). */
  readonly clientId: string;
  /** kafkajs logs below this level are dropped. Default `warn`. */
  readonly logLevel?: KafkaLogLevel;
  readonly logger?: KafkaLogger;
}

/**
 * Builds the kafkajs client every other class in this lib takes. One per process is enough: the
 * publisher, consumers and admin tools each open their own connections from it.
 */
export function createKafkaClient({ brokers, clientId, logLevel = 'warn', logger = consoleKafkaLogger }: KafkaClientOptions): Kafka {
  applyKafkaJsRequestQueueFix();
  return new Kafka({
    brokers: [...brokers],
    clientId,
    logLevel: kafkaLogLevels[logLevel],
    logCreator: kafkaLogCreator(logger),
  });
}
