// Shared by this lib's specs only (not exported from the lib): the broker address, a test event,
// and the short timings that keep consumer-group tests fast.
import { brokerAddress, operatorKafkaAccount } from '@boxoffice/config';
import type { Envelope } from '@boxoffice/contracts';
import { EnvelopeFactory, Outcome } from '@boxoffice/messaging';
import type { HandlerOutcome, MessageHandler, OutgoingMessage, RetryPolicy, SqlExecutor } from '@boxoffice/messaging';
import { numberedMessage, numberedPipeline, type Numbered } from '@boxoffice/messaging-contract';
import { createTestDatabase, uniqueName, type TestDatabase } from '@boxoffice/testing';
import type { Kafka } from 'kafkajs';
import { createKafkaClient, type KafkaAccount } from '../kafka.client.js';
import { KafkaConsumer, type KafkaConsumerOptions } from '../kafka.consumer.js';

export const brokers = brokerAddress('KAFKA_BROKERS')
  .split(',')
  .map((broker) => broker.trim());

/** The operator's account (a super user), as the tools sign in: these specs test the transport, not the ACLs. */
export const operatorAccount: KafkaAccount = operatorKafkaAccount();

export function testKafka(clientId: string): Kafka {
  return createKafkaClient({ brokers, clientId, logLevel: 'error', account: operatorAccount });
}

export const TestEvent = numberedMessage('KafkaTestEvent', 'event');

export type TestPayload = Numbered;

const envelopes = new EnvelopeFactory('messaging-kafka-spec');

export function testEvent(topic: string, key: string, seq = 0): OutgoingMessage {
  return { envelope: envelopes.create(TestEvent, { key, seq }), destination: { transport: 'kafka', channel: topic, key } };
}

/** Retries in tens of milliseconds instead of seconds; no jitter, so delays are exact lower bounds. */
export const fastRetry: RetryPolicy = { maxAttempts: 5, initialDelayMs: 20, multiplier: 2, maxDelayMs: 200, jitter: 0 };

/** The broker's minimum session timeout (group.min.session.timeout.ms) and a fetch that returns quickly on stop. */
export const fastGroup = { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 } satisfies Partial<KafkaConsumerOptions>;

/** A database with the messaging tables, for the pipeline's inbox. */
export function pipelineDatabase(prefix: string): Promise<TestDatabase> {
  return createTestDatabase(prefix, [
    new URL('../../../messaging/sql/outbox-inbox.sql', import.meta.url),
    new URL('../../../messaging/sql/outbox-parking.sql', import.meta.url),
  ]);
}

/**
 * A consumer group on one topic whose pipeline hands TestEvents to `handler`. The inbox key is
 * fresh unless given, so a group that reads a topic again sees the records again.
 */
export function testConsumer(
  kafka: Kafka,
  db: TestDatabase,
  groupId: string,
  topic: string,
  handler: MessageHandler<TestPayload, SqlExecutor>,
  inboxKey = uniqueName('inbox'),
) {
  const pipeline = numberedPipeline(db, TestEvent, handler, { consumer: inboxKey, retryPolicy: fastRetry });
  const consumer = new KafkaConsumer(
    kafka,
    { consumer: groupId, channels: [topic], pipeline, batch: { maxMessages: 100, maxWaitMs: 5 }, concurrency: 3 },
    fastGroup,
  );
  return { consumer, pipeline };
}

export interface Delivery {
  readonly envelope: Envelope<TestPayload>;
  readonly at: number;
  readonly outcome: HandlerOutcome;
}

/** A handler that records every delivery and answers with `decide` (default: done). */
export class RecordingHandler implements MessageHandler<TestPayload, SqlExecutor> {
  readonly deliveries: Delivery[] = [];

  constructor(
    private readonly decide: (envelope: Envelope<TestPayload>, attempt: number) => HandlerOutcome | Promise<HandlerOutcome> = () =>
      Outcome.done(),
  ) {}

  async handle(envelope: Envelope<TestPayload>): Promise<HandlerOutcome> {
    const attempt = this.deliveriesOf(envelope.id).length + 1;
    let outcome: HandlerOutcome;
    try {
      outcome = await this.decide(envelope, attempt);
    } catch (error) {
      this.deliveries.push({ envelope, at: Date.now(), outcome: Outcome.retry(String(error)) });
      throw error;
    }
    this.deliveries.push({ envelope, at: Date.now(), outcome });
    return outcome;
  }

  deliveriesOf(id: string): Delivery[] {
    return this.deliveries.filter((delivery) => delivery.envelope.id === id);
  }

  /** Ids of the messages handled as done, in the order they were. */
  get done(): string[] {
    return this.deliveries.filter((delivery) => delivery.outcome.kind === 'done').map((delivery) => delivery.envelope.id);
  }
}

/** Tidies up after a spec: the groups' committed offsets go with them. Groups still running are left to expire. */
export async function deleteGroups(kafka: Kafka, groupIds: ReadonlyArray<string>): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups([...groupIds]).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
