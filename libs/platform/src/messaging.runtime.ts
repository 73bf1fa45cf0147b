import { catalog, consumerGroup, type ServiceName } from '@boxoffice/contracts';
import { OutboxRelay, type Logger, type MessagePublisher, type Subscription } from '@boxoffice/messaging';
import { createKafkaClient, KafkaConsumer, KafkaPublisher, KafkaTopics } from '@boxoffice/messaging-kafka';
import { RabbitMqConnection, RabbitMqConsumer, RabbitMqPublisher } from '@boxoffice/messaging-rabbitmq';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import pg from 'pg';
import type { ReadinessCheck } from './readiness-check.js';

export interface MessagingRuntimeOptions {
  readonly service: ServiceName;
  readonly databaseUrl: string;
  readonly rabbitmqUrl: string;
  readonly kafkaBrokers: ReadonlyArray<string>;
  /** Everything the service consumes (its `<service>.subscriptions.ts`). */
  readonly subscriptions: ReadonlyArray<Subscription>;
  readonly rabbitmq?: { readonly prefetch?: number; readonly concurrency?: number };
  readonly kafka?: { readonly partitions?: number; readonly retentionMs?: number; readonly partitionsConsumedConcurrently?: number };
  readonly logger: Logger;
}

/** Seven days of events stay in each topic, so a consumer can be rebuilt by replaying them. */
const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * A service's messaging, assembled from the catalog: the outbox relay with a publisher for each
 * broker the service sends to, and a consumer for each broker it receives from. Starts after the
 * application is built and stops before it closes, in the order that loses nothing: consumers
 * first (finishing the messages in flight), then the relay, then the connections.
 */
export class MessagingRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly relay: OutboxRelay;
  readonly rabbitmq: RabbitMqConnection | null = null;
  readonly rabbitmqConsumer: RabbitMqConsumer | null = null;
  readonly kafka: ReturnType<typeof createKafkaClient> | null = null;
  readonly kafkaConsumer: KafkaConsumer | null = null;
  private readonly rabbitmqPublisher: RabbitMqPublisher | null = null;
  private readonly kafkaPublisher: KafkaPublisher | null = null;
  private readonly pool: pg.Pool;
  private readonly topics: string[];

  constructor(private readonly options: MessagingRuntimeOptions) {
    const sends = catalog.filter((entry) => entry.publisher === options.service).map((entry) => entry.route);
    const receives = options.subscriptions.map((subscription) => subscription.source);
    const usesRabbitMq = [...sends, ...receives].some((route) => route.transport === 'rabbitmq');
    const usesKafka = [...sends, ...receives].some((route) => route.transport === 'kafka');

    if (usesRabbitMq) {
      this.rabbitmq = new RabbitMqConnection({ url: options.rabbitmqUrl, name: options.service, logger: options.logger });
      if (sends.some((route) => route.transport === 'rabbitmq')) this.rabbitmqPublisher = new RabbitMqPublisher(this.rabbitmq, { logger: options.logger });
      if (receives.some((source) => source.transport === 'rabbitmq')) {
        this.rabbitmqConsumer = new RabbitMqConsumer(this.rabbitmq, { ...options.rabbitmq, logger: options.logger });
      }
    }
    if (usesKafka) {
      this.kafka = createKafkaClient({ brokers: options.kafkaBrokers, clientId: options.service, logger: options.logger });
      if (sends.some((route) => route.transport === 'kafka')) this.kafkaPublisher = new KafkaPublisher(this.kafka);
      if (receives.some((source) => source.transport === 'kafka')) {
        this.kafkaConsumer = new KafkaConsumer(this.kafka, {
          groupId: consumerGroup(options.service),
          subscriptions: options.subscriptions,
          partitionsConsumedConcurrently: options.kafka?.partitionsConsumedConcurrently,
          logger: options.logger,
        });
      }
    }
    this.topics = [...new Set([...sends, ...receives].flatMap((route) => (route.transport === 'kafka' ? [route.topic] : [])))];
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: 3 });
    // PostgreSQL may end an idle pooled connection (restart, failover, an admin); the pool drops
    // it and opens a new one on demand. Unheard, the pool's 'error' event would crash the service.
    this.pool.on('error', (error) => options.logger.warn(`outbox pool: an idle connection was lost (${error.message})`));
    const publishers: MessagePublisher[] = [];
    if (this.rabbitmqPublisher) publishers.push(this.rabbitmqPublisher);
    if (this.kafkaPublisher) publishers.push(this.kafkaPublisher);
    this.relay = new OutboxRelay(this.pool, publishers, { logger: options.logger });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.rabbitmq) await this.rabbitmq.connect();
    if (this.kafka) {
      await new KafkaTopics(this.kafka).ensure(
        this.topics.map((topic) => ({
          topic,
          partitions: this.options.kafka?.partitions ?? 3,
          retentionMs: this.options.kafka?.retentionMs ?? DEFAULT_RETENTION_MS,
        })),
      );
    }
    await this.kafkaPublisher?.connect();
    await this.rabbitmqConsumer?.start(this.options.subscriptions);
    await this.kafkaConsumer?.start();
    await this.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.rabbitmqConsumer?.stop(), this.kafkaConsumer?.stop()]);
    await this.relay.stop();
    await this.rabbitmqPublisher?.close();
    await this.kafkaPublisher?.disconnect();
    await this.rabbitmq?.close();
    await this.pool.end();
  }

  readiness(): ReadinessCheck[] {
    const checks: ReadinessCheck[] = [];
    const rabbitmq = this.rabbitmq;
    if (rabbitmq) checks.push({ name: 'rabbitmq', check: () => rabbitmq.createChannel().then((channel) => channel.close()) });
    const kafka = this.kafka;
    if (kafka) {
      checks.push({
        name: 'kafka',
        check: async () => {
          const admin = kafka.admin();
          await admin.connect();
          try {
            await admin.describeCluster();
          } finally {
            await admin.disconnect();
          }
        },
      });
    }
    const consumer = this.kafkaConsumer;
    if (consumer) {
      // Kafka answering is not enough: the group may be between joins after a broker restart.
      checks.push({
        name: 'kafka consumer',
        check: async () => {
          if (consumer.state !== 'running') throw new Error(`consumer group ${consumer.groupId} is ${consumer.state}`);
        },
      });
    }
    return checks;
  }
}
