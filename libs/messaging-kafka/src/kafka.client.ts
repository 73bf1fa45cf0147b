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
  /** The SASL/SCRAM-SHA-256 account to sign in with (the broker's ACLs say what it may do); none for a broker without authentication. */
  readonly account?: KafkaAccount;
}

/** A user and password on the broker (SCRAM-SHA-256: the password never crosses the wire). */
export interface KafkaAccount {
  readonly user: string;
  readonly password: string;
}

/**
 * Builds the kafkajs client every other class in this lib takes. One per process is enough: the
 * publisher, consumers and admin tools each open their own connections from it.
 */
export function createKafkaClient({ brokers, clientId, logLevel = 'warn', logger = console, account }: KafkaClientOptions): Kafka {
  applyKafkaJsRequestQueueFix();
  return new kafkajs.Kafka({
    brokers: [...brokers],
    clientId,
    ...(account && { sasl: { mechanism: 'scram-sha-256', username: account.user, password: account.password } }),
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
