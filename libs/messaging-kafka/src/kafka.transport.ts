import { BrokerTransport, type TransportOptions } from '@boxoffice/messaging';
import type {
  ChannelDepth,
  ConsumerSpec,
  DeadLetterScope,
  InboundMessage,
  OutgoingMessage,
  PublishOptions,
  Transport,
} from '@boxoffice/messaging';
import type { Kafka } from 'kafkajs';
import { createKafkaClient, withAdmin, type KafkaAccount } from './kafka.client.js';
import { KafkaConsumer, type KafkaConsumerOptions } from './kafka.consumer.js';
import { KafkaDeadLetters } from './kafka.dead-letters.js';
import { readTopicDepth } from './kafka.lag.js';
import { KafkaPublisher } from './kafka.publisher.js';
import { KafkaTopics } from './kafka.topics.js';
import { readTopicToEnd } from './kafka.topic-reader.js';

export interface KafkaTransportOptions extends TransportOptions {
  readonly brokers: ReadonlyArray<string>;
  /** Shown in the broker's view of the group and connections: the service. */
  readonly clientId: string;
  /** The service's SASL/SCRAM account; none for a broker without authentication. */
  readonly account?: KafkaAccount;
  /** Partitions of the topics `provision` creates. Default 3. */
  readonly partitions?: number;
  /** How long the topics keep events, so a projection can be rebuilt by replaying them. Default 7 days. */
  readonly retentionMs?: number;
  readonly consumer?: Omit<KafkaConsumerOptions, 'logger'>;
}

const SEVEN_DAYS_MS = 7 * 24 * 60 * 60 * 1_000;

/**
 * Kafka behind the transport port: a stream. The broker keeps a retained log and knows nothing
 * of deliveries; each consumer group keeps its own cursor (the committed offset), so "ack" means
 * "my group has read this far", nothing is deleted, and the log can be read again from the start.
 * Retries happen in place (kafka.consumer.ts); dead letters go to a topic per group.
 */
export class KafkaTransport extends BrokerTransport<KafkaConsumer> implements Transport {
  readonly kafka: Kafka;
  private readonly publisher: KafkaPublisher;

  constructor(private readonly options: KafkaTransportOptions) {
    super('kafka', options);
    this.kafka = createKafkaClient({
      brokers: [...options.brokers],
      clientId: options.clientId,
      account: options.account,
      logger: this.logger,
    });
    this.publisher = new KafkaPublisher(this.kafka);
  }

  /** Connects the producer: fails fast on a bad address. */
  override connect(): Promise<void> {
    return this.publisher.connect();
  }

  /** Consumers not stopped by now are abandoned, uncommitted work and all (stop them first to finish it). */
  async close(): Promise<void> {
    await this.leaveConsumers((consumer) => consumer.abandon());
    await this.publisher.disconnect();
  }

  async provision(topics: ReadonlyArray<string>): Promise<void> {
    await new KafkaTopics(this.kafka).ensure(
      topics.map((topic) => ({ topic, partitions: this.options.partitions ?? 3, retentionMs: this.options.retentionMs ?? SEVEN_DAYS_MS })),
    );
  }

  /** Deletes the topics, their groups' dead-letter topics, and the groups that read them, once idle. */
  deprovision(topics: ReadonlyArray<string>): Promise<void> {
    return new KafkaTopics(this.kafka).deprovision(topics);
  }

  publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void> {
    return this.publisher.publish(messages, options);
  }

  /** Every record the topic holds now, oldest first per partition, to the high watermarks it had. */
  async readToEnd(topic: string, timeoutMs: number): Promise<InboundMessage[]> {
    return (await readTopicToEnd(this.kafka, topic, timeoutMs)).map(({ value, headers }) => ({ body: value, headers }));
  }

  consumer(spec: ConsumerSpec): KafkaConsumer {
    return this.track(new KafkaConsumer(this.kafka, spec, { ...this.options.consumer, logger: this.logger }));
  }

  deadLetters(scope: DeadLetterScope): KafkaDeadLetters {
    return new KafkaDeadLetters(this.kafka, scope);
  }

  health(): Promise<void> {
    return withAdmin(this.kafka, async (admin) => void (await admin.describeCluster()));
  }

  /** The group's lag on the topic (records written and not yet settled by it), its age, and the topic's retention. */
  depth(topic: string, group: string): Promise<ChannelDepth> {
    return withAdmin(this.kafka, (admin) => readTopicDepth(this.kafka, admin, topic, group));
  }
}
