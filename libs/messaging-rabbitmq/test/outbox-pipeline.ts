// An outbox in a test database, a relay publishing it to RabbitMQ, and a consumer whose handler
// records its effect through an inbox: the whole path of a command, for the specs that prove
// "nothing lost, each effect once".
import { Inbox, Outbox, OutboxRelay, Outcome, PgTransactionRunner, silentLogger, type MessageHandler, type SqlExecutor } from '@boxoffice/messaging';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import type { Envelope } from '@boxoffice/contracts';
import { RabbitMqConsumer } from '../src/rabbitmq.consumer.js';
import { RabbitMqPublisher } from '../src/rabbitmq.publisher.js';
import type { RabbitMqConnection } from '../src/rabbitmq.connection.js';
import { fastRetry, subscription, type TestSource } from './test-broker.js';

export class OutboxPipeline {
  readonly outbox = new Outbox();
  /** Deliveries the handler has finished (its inbox transaction committed or found a duplicate). */
  deliveries = 0;
  relay!: OutboxRelay;
  consumer!: RabbitMqConsumer;
  private publisher!: RabbitMqPublisher;
  private runner!: PgTransactionRunner;

  private constructor(readonly db: TestDatabase) {}

  static async create(prefix: string): Promise<OutboxPipeline> {
    const db = await createTestDatabase(prefix, [new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url)]);
    // No unique key here on purpose: a duplicate effect must show up as a second row.
    await db.pool.query('CREATE TABLE effect (message_id uuid NOT NULL)');
    const pipeline = new OutboxPipeline(db);
    pipeline.runner = new PgTransactionRunner(db.pool);
    return pipeline;
  }

  /** Starts relay and consumer; `wrapPublisher` lets a spec interfere with publishing. */
  async start(connection: RabbitMqConnection, source: TestSource, wrapPublisher = (p: RabbitMqPublisher) => p as Pick<RabbitMqPublisher, 'transport' | 'publish'>) {
    this.publisher = new RabbitMqPublisher(connection);
    this.relay = new OutboxRelay(this.db.pool, [wrapPublisher(this.publisher)], { retryInitialDelayMs: 50, pollIntervalMs: 200, logger: silentLogger });
    const inbox = new Inbox(this.runner, 'pipeline');
    const handler: MessageHandler = {
      handle: async (message) => {
        const outcome = await inbox.handleOnce(message, async (tx) => {
          await tx.$executeRawUnsafe('INSERT INTO effect (message_id) VALUES ($1::uuid)', message.id);
          return Outcome.done();
        });
        this.deliveries += 1;
        return outcome;
      },
    };
    this.consumer = new RabbitMqConsumer(connection, { retryPolicy: fastRetry, prefetch: 20, concurrency: 5 });
    await this.consumer.start([subscription(source, handler)]);
    await this.relay.start();
  }

  async add(envelopes: Envelope[], source: TestSource): Promise<void> {
    await this.runner.$transaction(async (tx: SqlExecutor) => {
      for (const envelope of envelopes) {
        await this.outbox.add(tx, envelope, { transport: 'rabbitmq', exchange: source.exchange, routingKey: source.queue });
      }
    });
  }

  /** How many times each message's effect happened. */
  async effects(): Promise<Map<string, number>> {
    const { rows } = await this.db.pool.query<{ message_id: string; n: number }>(
      'SELECT message_id, count(*)::int AS n FROM effect GROUP BY message_id',
    );
    return new Map(rows.map((row) => [row.message_id, row.n]));
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    await this.relay?.stop();
    await this.publisher?.close();
    await this.db.drop();
  }
}
