import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Envelope, MessageKind } from '@boxoffice/contracts';
import { DeadLetterNotFound, EnvelopeFactory, Outcome, type ConsumerPipeline, type HandlerOutcome } from '@boxoffice/messaging';
import type { MessageHandler, OutgoingMessage, RetryPolicy, SqlExecutor, Transport, TransportConsumer } from '@boxoffice/messaging';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { numberedMessage, numberedPipeline, type Numbered } from './spec.fixtures.js';

/** One test's own channel on the transport under test. */
export interface ContractChannel {
  readonly transport: Transport;
  readonly channel: string;
  /** Removes the channel and what the transport made for it (retry and dead letter queues, topics). */
  cleanup(): Promise<void>;
}

/** How the contract suite gets a transport of one kind against its real broker. */
export interface TransportFixture {
  readonly name: string;
  /** What the channel is: a work queue (commands) or a topic (events). */
  readonly kind: MessageKind;
  /**
   * A connected transport whose retries follow `policy`, and a channel no other test uses (or the
   * one named). `database` is the suite's own, which the consumers' pipelines write to: a
   * transport that keeps its cursor there (Kinesis) takes it; the others need not look.
   */
  channel(policy: RetryPolicy, name: string | undefined, database: TestDatabase): Promise<ContractChannel>;
  /**
   * Whether the dead letter store's counts say when the oldest letter was parked (`oldestAt`),
   * without taking it: what the metrics' dead-letter age reads. RabbitMQ and SQS cannot.
   */
  readonly tellsDeadLetterAge: boolean;
}

/** Fast enough for tests: 100, 200 ms between the three attempts, no jitter, so delays are lower bounds. */
const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 0 };

/**
 * The behaviour every transport adapter must show against its real broker, through the one
 * consumer pipeline: what the port promises, proven the same way for each. A transport lib runs
 * it from a spec of its own: `describeTransportContract(fixture)`.
 */
export function describeTransportContract(fixture: TransportFixture): void {
  describe(`the ${fixture.name} transport, as every transport must behave`, () => {
    const definition = numberedMessage('ContractNumbered', fixture.kind);
    const envelopes = new EnvelopeFactory('contract-spec');
    let db: TestDatabase;
    let current: ContractChannel;
    const consumers: TransportConsumer[] = [];
    let decide: (message: Envelope<Numbered>) => HandlerOutcome | Promise<HandlerOutcome>;
    let attemptsAt: Map<string, number[]>;

    /** Writes one effect row per message it does: a second effect of one message is a second row. */
    const recorder: MessageHandler<Numbered, SqlExecutor> = {
      async handle(message, context) {
        attemptsAt.set(message.id, [...(attemptsAt.get(message.id) ?? []), Date.now()]);
        const outcome = await decide(message);
        if (outcome.kind === 'done') {
          await context.tx.$executeRawUnsafe(
            'INSERT INTO effect (message_id, key, seq) VALUES ($1::uuid, $2, $3)',
            message.id,
            message.payload.key,
            message.payload.seq,
          );
        }
        return outcome;
      },
    };

    beforeAll(async () => {
      db = await createTestDatabase(`contract_${fixture.name}`, [
        new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
        new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
        new URL('../../messaging/sql/stream-checkpoints.sql', import.meta.url),
      ]);
      await db.pool.query('CREATE TABLE effect (position bigserial, message_id uuid NOT NULL, key text NOT NULL, seq int NOT NULL)');
    });
    afterAll(() => db.drop());

    let pipeline: ConsumerPipeline<SqlExecutor>;
    async function consume(channel: ContractChannel, options: { concurrency?: number } = {}): Promise<TransportConsumer> {
      pipeline = numberedPipeline(db, definition, recorder, { consumer: uniqueName('contract'), retryPolicy: policy });
      return startWith(channel, pipeline, options);
    }

    async function startWith(
      channel: ContractChannel,
      processor: ConsumerPipeline<SqlExecutor>,
      { concurrency = 2 }: { concurrency?: number } = {},
    ) {
      const consumer = channel.transport.consumer({
        consumer: processor.consumer,
        channels: [channel.channel],
        pipeline: processor,
        batch: { maxMessages: 50, maxWaitMs: 10 },
        concurrency,
      });
      consumers.push(consumer);
      await consumer.start();
      return consumer;
    }

    const message = (key: string, seq: number): OutgoingMessage => ({
      envelope: envelopes.create(definition, { key, seq }),
      destination: { transport: fixture.name, channel: current.channel, key },
    });
    const effects = async () =>
      (await db.pool.query<{ message_id: string; key: string; seq: number }>('SELECT message_id, key, seq FROM effect ORDER BY position'))
        .rows;
    const effectCount = async () => (await effects()).length;

    beforeEach(async () => {
      decide = () => Outcome.done();
      attemptsAt = new Map();
      await db.pool.query('TRUNCATE effect, inbox_message');
      current = await fixture.channel(policy, undefined, db);
      await current.transport.provision([current.channel]);
    });
    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
      await current.cleanup();
      await current.transport.close();
    });

    describe('when messages are published', () => {
      it('resolves once the broker confirmed them, and they are consumed in batches, each once', async () => {
        const batch = Array.from({ length: 200 }, (_, seq) => message(`k${seq % 5}`, seq));
        await current.transport.publish(batch);
        await consume(current);
        await waitFor(effectCount, (n) => n >= 200, { description: 'every message to take effect' });
        const rows = await effects();
        expect(new Set(rows.map((r) => r.message_id)).size).toBe(200);
        expect(rows).toHaveLength(200);
        // Batches, not one transaction per message.
        expect(pipeline.counters.batches).toBeLessThan(100);
      });
    });

    describe('when the same message is delivered twice', () => {
      it('has one effect, and the inbox says duplicate', async () => {
        const once = message('k', 1);
        await consume(current);
        await current.transport.publish([once, once]);
        await current.transport.publish([message('k', 2)]);
        await waitFor(
          () => pipeline.counters.duplicates + pipeline.counters.processed,
          (n) => n === 3,
          { description: 'all three handled' },
        );
        expect(pipeline.counters.duplicates).toBe(1);
        expect((await effects()).map((r) => r.seq)).toEqual([1, 2]);
      });
    });

    describe('when a handler fails and then succeeds', () => {
      it('tries again after the backoff, and the message takes effect once', async () => {
        const flaky = message('k', 1);
        decide = (m) => ((attemptsAt.get(m.id)?.length ?? 0) < 3 ? Outcome.retry('not yet') : Outcome.done());
        await consume(current);
        await current.transport.publish([flaky]);
        await waitFor(effectCount, (n) => n === 1, { description: 'the third attempt to take effect' });
        const [first, second, third] = attemptsAt.get(flaky.envelope.id)!;
        expect(second - first).toBeGreaterThanOrEqual(90);
        expect(third - second).toBeGreaterThanOrEqual(190);
      });
    });

    describe('when a message keeps failing', () => {
      it('is dead-lettered after its attempts, with its failure record, and the others go on', async () => {
        const published = Date.now();
        const poisoned = message('bad', 1);
        decide = (m) => (m.payload.key === 'bad' ? Outcome.retry('card network down') : Outcome.done());
        await consume(current);
        await current.transport.publish([poisoned, message('good', 2)]);
        const store = current.transport.deadLetters([{ channel: current.channel, consumers: [pipeline.consumer] }]);
        const [letter] = await waitFor(
          () => store.list(),
          (list) => list.length === 1,
          { description: 'the dead letter' },
        );
        expect(letter).toMatchObject({
          id: poisoned.envelope.id,
          attempts: 3,
          lastError: 'card network down',
          originalSource: current.channel,
          transport: fixture.name,
        });
        expect(JSON.parse(letter.body)).toMatchObject({ id: poisoned.envelope.id });
        expect((await effects()).map((r) => r.key)).toEqual(['good']);

        // What the metrics read, counted where the broker keeps it (SQS's count is approximate: it may lag).
        expect(store.counts).toBeDefined();
        const [count] = await waitFor(
          () => store.counts!(),
          (counts) => counts.length === 1 && counts[0].messages === 1,
          { description: 'the store to count its one dead letter' },
        );
        if (fixture.tellsDeadLetterAge) {
          // The broker's clock is this machine's; a second either way for its rounding.
          expect(count.oldestAt).toBeGreaterThanOrEqual(published - 1_000);
          expect(count.oldestAt).toBeLessThanOrEqual(Date.now() + 1_000);
        } else {
          expect(count.oldestAt).toBeUndefined();
        }
      });
    });

    describe('when a dead letter is replayed', () => {
      it('goes back with a full set of attempts, takes effect, and leaves the store; an unknown id is refused', async () => {
        const parked = message('later', 1);
        decide = () => Outcome.deadLetter('refused for now');
        await consume(current);
        await current.transport.publish([parked, message('later', 2)]);
        const store = current.transport.deadLetters([{ channel: current.channel, consumers: [pipeline.consumer] }]);
        await waitFor(
          () => store.list(),
          (list) => list.length === 2,
          { description: 'both dead-lettered' },
        );

        decide = () => Outcome.done();
        await expect(store.replay('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(DeadLetterNotFound);
        await store.replay(parked.envelope.id);
        await waitFor(effectCount, (n) => n === 1, { description: 'the replayed message to take effect' });
        expect(await effects()).toMatchObject([{ message_id: parked.envelope.id }]);
        expect((await store.list()).map((l) => l.id)).not.toContain(parked.envelope.id);
        await expect(store.purge()).resolves.toBe(1);
        await expect(store.list()).resolves.toEqual([]);
      });
    });

    describe('when messages share a key', () => {
      it('takes effect in the order they were published, per key', async () => {
        const keys = ['a', 'b', 'c'];
        await current.transport.publish(Array.from({ length: 60 }, (_, seq) => message(keys[seq % 3], seq)));
        // One consumer lane: a work queue's competing consumers reorder by design; a topic's partition does not.
        await consume(current, { concurrency: 1 });
        await waitFor(effectCount, (n) => n === 60, { description: 'all sixty' });
        const rows = await effects();
        for (const key of keys) {
          const seqs = rows.filter((r) => r.key === key).map((r) => r.seq);
          expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
        }
      });
    });

    describe('when the consumer crashes in the middle of a batch', () => {
      it('loses nothing and does nothing twice', async () => {
        const batch = Array.from({ length: 100 }, (_, seq) => message(`k${seq % 4}`, seq));
        let stuck: () => void = () => {};
        const blocked = new Promise<void>((resolve) => (stuck = resolve));
        decide = async (m) => {
          if (m.payload.seq === 50) await blocked;
          return Outcome.done();
        };
        await current.transport.publish(batch);
        await consume(current);
        await waitFor(() => attemptsAt.has(batch[50].envelope.id), Boolean, {
          description: 'the batch holding message 50 to be under way',
        });

        // The crash: the database ends the open batch transaction and the transport's connection
        // goes without a goodbye; nothing of that batch was settled.
        await db.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'`,
        );
        const crashed = current.transport.close();
        consumers.splice(0);
        stuck();
        await crashed;

        // Another instance takes over the same channel, as the same consumer.
        current = await fixture.channel(policy, current.channel, db);
        decide = () => Outcome.done();
        await startWith(current, pipeline);
        await waitFor(effectCount, (n) => n >= 100, { description: 'every message to take effect after the crash', timeoutMs: 40_000 });
        const rows = await effects();
        expect(rows).toHaveLength(100);
        expect(new Set(rows.map((r) => r.message_id)).size).toBe(100);
      });
    });
  });
}
