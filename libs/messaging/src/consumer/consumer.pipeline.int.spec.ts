import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { defineMessage, type Envelope } from '@boxoffice/contracts';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { z } from 'zod';
import { Routing } from '../destination.js';
import { EnvelopeFactory } from '../envelope.factory.js';
import { FailureHeaders, withFailure } from '../failure.headers.js';
import { Outcome, type HandlerOutcome } from '../handler-outcome.js';
import { MessageSender } from '../outbox/message.sender.js';
import { PgTransactionRunner } from '../pg-transaction-runner.js';
import type { RetryPolicy } from '../retry-policy.js';
import type { SqlExecutor } from '../sql-client.js';
import { ConsumerPipeline } from './consumer.pipeline.js';
import type { InboundMessage, SourceSemantics } from '../transport.port.js';
import type { BatchHandler, MessageHandler } from './message-handler.js';

const Credited = defineMessage({
  type: 'Credited',
  version: 1,
  kind: 'event',
  description: 'test',
  schema: z.object({ account: z.string(), amount: z.number() }),
});
const Noted = defineMessage({ type: 'Noted', version: 1, kind: 'event', description: 'test', schema: z.object({ account: z.string() }) });
const Foreign = defineMessage({ type: 'Foreign', version: 1, kind: 'event', description: 'test', schema: z.object({}) });
const catalog = [
  { message: Credited, channel: 'ledger', keyedBy: 'account', publisher: 'checkout', consumers: ['billing'] },
  { message: Noted, channel: 'notes', keyedBy: 'account', publisher: 'billing', consumers: ['audit'] },
] as const;
const envelopes = new EnvelopeFactory('pipeline-spec');
const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 0 };
const topic: SourceSemantics = { ordered: true, exclusive: false };
const queue: SourceSemantics = { ordered: false, exclusive: true };

const credit = (amount: number, account = 'a') => envelopes.create(Credited, { account, amount });
const inbound = (envelope: Envelope | string, headers: Record<string, string> = {}): InboundMessage => ({
  body: typeof envelope === 'string' ? envelope : JSON.stringify(envelope),
  headers,
});

describe('the consumer pipeline', () => {
  let db: TestDatabase;
  let runner: PgTransactionRunner;
  let decide: (message: Envelope<{ amount: number }>) => HandlerOutcome | Promise<HandlerOutcome>;
  const afterCommit: string[] = [];

  /** Adds the amount to the balance, and says Noted for each credit. */
  const ledger: MessageHandler<{ account: string; amount: number }, SqlExecutor> = {
    async handle(message, context) {
      await context.tx.$executeRawUnsafe('UPDATE balance SET total = total + $1', message.payload.amount);
      context.send(Noted, { account: message.payload.account });
      return decide(message);
    },
    afterCommit(messages) {
      afterCommit.push(...messages.map((m) => m.id));
    },
  };

  function pipeline(
    handler: MessageHandler<never, SqlExecutor> | BatchHandler<never, SqlExecutor> = ledger as MessageHandler<never, SqlExecutor>,
  ) {
    return new ConsumerPipeline({
      consumer: 'ledger',
      handlers: [{ message: Credited, handler }],
      database: runner,
      sender: new MessageSender(new EnvelopeFactory('billing'), new Routing({ entries: catalog })),
      retryPolicy: policy,
      random: () => 0,
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase('pipeline', [new URL('../../sql/outbox-inbox.sql', import.meta.url)]);
    await db.pool.query('CREATE TABLE balance (total int NOT NULL)');
    runner = new PgTransactionRunner(db.pool);
  });
  beforeEach(async () => {
    decide = () => Outcome.done();
    afterCommit.length = 0;
    await db.pool.query('TRUNCATE inbox_message, outbox_message, balance; INSERT INTO balance VALUES (0)');
  });
  afterAll(() => db.drop());

  const balance = async () => (await db.pool.query('SELECT total FROM balance')).rows[0].total as number;
  const inboxRows = async () => (await db.pool.query('SELECT count(*)::int AS n FROM inbox_message')).rows[0].n as number;
  const outboxRows = async () => (await db.pool.query(`SELECT type, partition_key FROM outbox_message ORDER BY position`)).rows;

  describe('when a batch arrives', () => {
    it('handles every message in one transaction and writes what they sent with one outbox insert', async () => {
      const batch = [credit(1), credit(2, 'b'), credit(3)];
      const settlements = await pipeline().process(
        'ledger',
        batch.map((m) => inbound(m)),
        topic,
      );
      expect(settlements).toEqual([1, 2, 3].map(() => ({ kind: 'ack', as: 'done' })));
      expect(await balance()).toBe(6);
      expect(await outboxRows()).toEqual([
        { type: 'Noted', partition_key: 'notes:a' },
        { type: 'Noted', partition_key: 'notes:b' },
        { type: 'Noted', partition_key: 'notes:a' },
      ]);
      expect(afterCommit).toEqual(batch.map((m) => m.id));
    });
  });

  describe('when a batch of a hundred goes through on the happy path', () => {
    it('opens no savepoint, and when a message fails, one per run, not one per message', async () => {
      // A savepoint is two round trips (SAVEPOINT, RELEASE) that the happy path does not need.
      // PostgreSQL keeps 64 subtransactions per transaction in shared memory; past that every
      // snapshot of every session slows down. A savepoint per message would cross it.
      const savepoints: string[] = [];
      const counting: typeof runner = Object.assign(Object.create(runner) as typeof runner, {
        $transaction: <R>(work: (tx: SqlExecutor) => Promise<R>) =>
          runner.$transaction((tx) =>
            work({
              ...tx,
              $executeRawUnsafe: (query: string, ...values: unknown[]) => {
                if (query.startsWith('SAVEPOINT')) savepoints.push(query);
                return tx.$executeRawUnsafe(query, ...values);
              },
            }),
          ),
      });
      const processor = new ConsumerPipeline({
        consumer: 'ledger',
        handlers: [{ message: Credited, handler: ledger as MessageHandler<never, SqlExecutor> }],
        database: counting,
        sender: new MessageSender(new EnvelopeFactory('billing'), new Routing({ entries: catalog })),
      });
      const settlements = await processor.process(
        'ledger',
        Array.from({ length: 100 }, () => inbound(credit(1))),
        queue,
      );
      expect(settlements.every((s) => s.kind === 'ack')).toBe(true);
      expect(savepoints).toHaveLength(0);
      expect(await balance()).toBe(100);

      // The last of a hundred fails: the run is halved down to it, a savepoint per half.
      decide = (m) => (m.payload.amount < 0 ? Outcome.retry('refused') : Outcome.done());
      const failing = await processor.process(
        'ledger',
        Array.from({ length: 100 }, (_, i) => inbound(credit(i === 99 ? -1 : 1))),
        queue,
      );
      expect(failing.map((s) => s.kind)).toEqual([...Array<string>(99).fill('ack'), 'retry']);
      expect(savepoints.length).toBeGreaterThan(0);
      expect(savepoints.length).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(100)));
      expect(await balance()).toBe(199);
    });
  });

  describe('when the same message arrives twice, in one batch and in the next', () => {
    it('has one effect and says duplicate for the copies', async () => {
      const message = credit(5);
      const first = await pipeline().process('ledger', [inbound(message), inbound(message)], topic);
      const second = await pipeline().process('ledger', [inbound(message)], topic);
      expect([...first, ...second].map((s) => (s.kind === 'ack' ? s.as : s.kind))).toEqual(['done', 'duplicate', 'duplicate']);
      expect(await balance()).toBe(5);
      expect(afterCommit).toEqual([message.id]);
    });
  });

  describe('when copies of a message are handled at the same moment', () => {
    it('still has one effect', async () => {
      const message = credit(7);
      await Promise.all([1, 2, 3, 4].map(() => pipeline().process('ledger', [inbound(message)], queue)));
      expect(await balance()).toBe(7);
    });
  });

  describe('when one message of a batch fails', () => {
    it('retries it alone, undoes its writes and sends, and commits the rest', async () => {
      const batch = [credit(1), credit(20, 'b'), credit(300, 'c')];
      decide = (m) => (m.payload.amount === 20 ? Outcome.retry('gateway timed out') : Outcome.done());
      const settlements = await pipeline().process(
        'ledger',
        batch.map((m) => inbound(m)),
        queue,
      );
      expect(settlements.map((s) => s.kind)).toEqual(['ack', 'retry', 'ack']);
      expect(settlements[1]).toMatchObject({
        kind: 'retry',
        delayMs: 100,
        attempts: 1,
        headers: {
          [FailureHeaders.attempts]: '1',
          [FailureHeaders.lastError]: 'gateway timed out',
          [FailureHeaders.originalSource]: 'ledger',
          [FailureHeaders.consumer]: 'ledger',
        },
      });
      expect(await balance()).toBe(301);
      expect(await outboxRows()).toHaveLength(2);
      expect(await inboxRows()).toBe(2);
    });

    it('does it when the handler throws, too, and the retry then does the work once', async () => {
      const message = credit(4);
      decide = () => {
        throw new Error('deadlock detected');
      };
      const [failed] = await pipeline().process('ledger', [inbound(message)], queue);
      expect(failed).toMatchObject({ kind: 'retry', reason: 'deadlock detected' });
      decide = () => Outcome.done();
      const [retried] = await pipeline().process('ledger', [inbound(message, failed.kind === 'retry' ? failed.headers : {})], queue);
      expect(retried).toEqual({ kind: 'ack', as: 'done' });
      expect(await balance()).toBe(4);
    });

    it('holds back what follows it on an ordered source, so nothing overtakes it', async () => {
      const batch = [credit(1), credit(20), credit(300), credit(4000)];
      decide = (m) => (m.payload.amount === 20 ? Outcome.retry('not yet') : Outcome.done());
      const settlements = await pipeline().process(
        'ledger',
        batch.map((m) => inbound(m)),
        topic,
      );
      expect(settlements.map((s) => s.kind)).toEqual(['ack', 'retry', 'held', 'held']);
      expect(await balance()).toBe(1);
      expect(await inboxRows()).toBe(1);
    });
  });

  describe('when a message has used up its attempts', () => {
    it('dead-letters it with its failure record', async () => {
      const message = credit(9);
      const earlier = withFailure(
        {},
        { attempts: 2, lastError: 'x', firstFailureAt: '2026-12-01T00:00:00.000Z', lastFailureAt: '2026-12-01T00:00:01.000Z' },
        { source: 'ledger', consumer: 'ledger' },
      );
      decide = () => Outcome.retry('still failing');
      const [settlement] = await pipeline().process('ledger', [inbound(message, earlier)], queue);
      expect(settlement).toMatchObject({
        kind: 'dead-letter',
        attempts: 3,
        messageId: message.id,
        headers: { [FailureHeaders.firstFailureAt]: '2026-12-01T00:00:00.000Z' },
      });
      expect(await balance()).toBe(0);
      expect(await inboxRows()).toBe(0);
    });
  });

  describe('when a message cannot be decoded', () => {
    it('dead-letters it as poison at once and handles the rest', async () => {
      const settlements = await pipeline().process('ledger', [inbound('{not json'), inbound(credit(2))], queue);
      expect(settlements[0]).toMatchObject({ kind: 'dead-letter', attempts: 1, reason: expect.stringContaining('poison: not JSON') });
      expect(settlements[1]).toEqual({ kind: 'ack', as: 'done' });
    });
  });

  describe('when a message is of a type the consumer does not handle', () => {
    const foreign = envelopes.create(Foreign, {});

    it('passes over it on a shared topic', async () => {
      expect(await pipeline().process('ledger', [inbound(foreign)], topic)).toEqual([{ kind: 'ack', as: 'skipped' }]);
    });

    it("dead-letters it on a work queue, which is the consumer's alone", async () => {
      const [settlement] = await pipeline().process('ledger', [inbound(foreign)], queue);
      expect(settlement).toMatchObject({ kind: 'dead-letter', reason: expect.stringContaining('unexpected message Foreign v1') });
    });
  });

  describe('with a batch handler', () => {
    const calls: number[] = [];
    const setBased: BatchHandler<{ amount: number }, SqlExecutor> = {
      async handleBatch(messages, context) {
        calls.push(messages.length);
        if (messages.some((m) => m.payload.amount < 0)) throw new Error('negative amount');
        await context.tx.$executeRawUnsafe(
          'UPDATE balance SET total = total + (SELECT sum((value->>0)::int) FROM json_array_elements($1::json))',
          JSON.stringify(messages.map((m) => [m.payload.amount])),
        );
      },
    };
    beforeEach(() => void (calls.length = 0));

    it('hands it the whole run at once', async () => {
      const settlements = await pipeline(setBased as BatchHandler<never, SqlExecutor>).process(
        'ledger',
        [1, 2, 3, 4].map((n) => inbound(credit(n))),
        queue,
      );
      expect(settlements.every((s) => s.kind === 'ack')).toBe(true);
      expect(calls).toEqual([4]);
      expect(await balance()).toBe(10);
    });

    it('undoes what a batch handler wrote before it threw, however far the bisection goes', async () => {
      const writesThenFails: BatchHandler<{ amount: number }, SqlExecutor> = {
        async handleBatch(messages, context) {
          await context.tx.$executeRawUnsafe(
            'UPDATE balance SET total = total + $1',
            messages.reduce((sum, m) => sum + m.payload.amount, 0),
          );
          // An SQL error after a write: the transaction is aborted until the savepoint is rolled back.
          if (messages.some((m) => m.payload.amount < 0)) await context.tx.$executeRawUnsafe('SELECT 1 / 0');
        },
      };
      const settlements = await pipeline(writesThenFails as BatchHandler<never, SqlExecutor>).process(
        'ledger',
        [5, -1, 7].map((n) => inbound(credit(n))),
        queue,
      );
      expect(settlements.map((s) => s.kind)).toEqual(['ack', 'retry', 'ack']);
      expect(settlements[1]).toMatchObject({ reason: expect.stringContaining('division by zero') });
      expect(await balance()).toBe(12);
    });

    it('bisects a failing run down to the message that fails, and commits the others', async () => {
      const amounts = [1, 2, -3, 4, 5, 6, 7, 8];
      const settlements = await pipeline(setBased as BatchHandler<never, SqlExecutor>).process(
        'ledger',
        amounts.map((n) => inbound(credit(n))),
        queue,
      );
      expect(settlements.map((s) => s.kind)).toEqual(['ack', 'ack', 'retry', 'ack', 'ack', 'ack', 'ack', 'ack']);
      expect(await balance()).toBe(33);
      // The first call is the first transaction's, with no savepoint, rolled back when the run failed.
      expect(calls).toEqual([8, 8, 4, 2, 2, 1, 1, 4]);
    });
  });

  describe('when the database transaction itself fails', () => {
    it('settles nothing and lets the transport try the batch again', async () => {
      const broken = new ConsumerPipeline({
        consumer: 'ledger',
        handlers: [{ message: Credited, handler: ledger as MessageHandler<never, SqlExecutor> }],
        database: { $transaction: <R>(): Promise<R> => Promise.reject(new Error('connection terminated')) },
      });
      await expect(broken.process('ledger', [inbound(credit(1))], queue)).rejects.toThrow('connection terminated');
    });
  });
});
