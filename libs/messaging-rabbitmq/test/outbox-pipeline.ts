// An outbox in a test database, a relay publishing it to RabbitMQ, and a consumer whose handler
// records its effect through the pipeline's inbox: the whole path of a command, for the specs that
// prove "nothing lost, each effect once".
import {
  Outbox,
  OutboxRelay,
  Outcome,
  PgTransactionRunner,
  silentLogger,
  type Publisher,
  type SqlExecutor,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import type { Envelope } from '@boxoffice/contracts';
import { RabbitMqTransport } from '../src/rabbitmq.transport.js';
import { fastRetry, pipelineFor, rabbitMqUrl, toQueue, type TestSource } from './test-broker.js';

export class OutboxPipeline {
  readonly outbox = new Outbox();
  /** Deliveries the handler has finished (its transaction committed or the inbox found a duplicate). */
  deliveries = 0;
  relay!: OutboxRelay;
  consumer!: TransportConsumer;
  transport!: RabbitMqTransport;
  private runner!: PgTransactionRunner;

  private constructor(readonly db: TestDatabase) {}

  static async create(prefix: string): Promise<OutboxPipeline> {
    const db = await createTestDatabase(prefix, [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    // No unique key here on purpose: a duplicate effect must show up as a second row.
    await db.pool.query('CREATE TABLE effect (message_id uuid NOT NULL)');
    const pipeline = new OutboxPipeline(db);
    pipeline.runner = new PgTransactionRunner(db.pool);
    return pipeline;
  }

  /** Starts relay and consumer; `wrapPublisher` lets a spec interfere with publishing. */
  async start(source: TestSource, wrapPublisher = (p: Publisher): Publisher => p) {
    this.transport = new RabbitMqTransport({
      url: rabbitMqUrl,
      name: 'outbox-pipeline',
      exchange: source.exchange,
      retryPolicy: fastRetry,
      reconnectInitialDelayMs: 50,
    });
    await this.transport.connect();
    this.relay = new OutboxRelay(this.db.pool, [wrapPublisher(this.transport)], {
      retryInitialDelayMs: 50,
      pollIntervalMs: 200,
      logger: silentLogger,
    });
    const processor = pipelineFor(this.runner, {
      handle: async (message, context) => {
        await context.tx.$executeRawUnsafe('INSERT INTO effect (message_id) VALUES ($1::uuid)', message.id);
        return Outcome.done();
      },
    });
    const counting = {
      process: async (...args: Parameters<typeof processor.process>) => {
        const settlements = await processor.process(...args);
        this.deliveries += settlements.filter((s) => s.kind === 'ack').length;
        return settlements;
      },
    };
    this.consumer = this.transport.consumer({
      consumer: 'pipeline',
      channels: [source.queue],
      pipeline: counting,
      batch: { maxMessages: 20, maxWaitMs: 5 },
      concurrency: 2,
    });
    await this.consumer.start();
    await this.relay.start();
  }

  async add(envelopes: Envelope[], source: TestSource): Promise<void> {
    await this.runner.$transaction(async (tx: SqlExecutor) => {
      await this.outbox.addMany(
        tx,
        envelopes.map((envelope) => toQueue(source, envelope)),
      );
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
    await this.transport?.close();
    await this.db.drop();
  }
}
