import { describe, expect, it } from '@jest/globals';
import { defineMessage } from '@boxoffice/contracts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { z } from 'zod';
import { EnvelopeFactory, type EnvelopeOptions } from '../envelope.factory.js';
import { Outcome } from '../handler-outcome.js';
import type { MessageSender } from '../outbox/message.sender.js';
import type { SqlExecutor, TransactionRunner } from '../sql-client.js';
import { ConsumerPipeline } from './consumer.pipeline.js';
import type { BatchHandler, MessageHandler } from './message-handler.js';
import { observeAll, type PipelineObserver } from './pipeline.observer.js';

const Noted = defineMessage({
  type: 'ObserverNoted',
  version: 1,
  kind: 'event',
  description: 'A message for the observer spec.',
  schema: z.object({ n: z.number() }),
});

/** A database that answers the inbox claim with every id new, and fails its transactions when told to. */
function fakeDatabase(fails = false): TransactionRunner<SqlExecutor> {
  const tx: SqlExecutor = {
    $executeRawUnsafe: async () => 0,
    async $queryRawUnsafe<T>(query: string, ...values: unknown[]) {
      const claimed = query.includes('inbox_message') ? (JSON.parse(String(values[1])) as Array<{ id: string }>) : [];
      return claimed.map(({ id }) => ({ id: id.toLowerCase() })) as T;
    },
  };
  return {
    async $transaction(work) {
      if (fails) throw new Error('the database is away');
      return work(tx);
    },
  };
}

/** A sender that records the options each send was made with. */
function recordingSender(sentWith: EnvelopeOptions[]): MessageSender {
  return {
    entry: (definition: typeof Noted, payload: { n: number }, options: EnvelopeOptions = {}) => {
      sentWith.push(options);
      return { envelope: envelopes.create(definition, payload, options), destination: { transport: 'kafka', channel: 'c', key: null } };
    },
    addMany: async () => {},
  } as unknown as MessageSender;
}

/** An observer that writes down what it is told, under `name`. */
function recordingObserver(log: string[], name = 'observer'): PipelineObserver {
  return {
    batchBegun: (source, messages) => {
      log.push(`${name}: batch of ${messages.length} from ${source}`);
      return {
        handlerCalled: (call) => {
          log.push(`${name}: call with ${call.messages.map((m) => (m.payload as { n: number }).n).join(',')}`);
          return {
            ended: (end) =>
              log.push(`${name}: call ended ${'error' in end ? `threw ${String(end.error)}` : end.outcomes.map((o) => o.kind).join(',')}`),
          };
        },
        messageSettled: (index, settlement) => log.push(`${name}: message ${index} ${settlement.kind}`),
        batchEnded: (end) => log.push(`${name}: batch ended ${'error' in end ? 'with an error' : `with ${end.settlements.length}`}`),
      };
    },
  };
}

const envelopes = new EnvelopeFactory('spec');
const inbound = (n: number) => ({ body: JSON.stringify(envelopes.create(Noted, { n })), headers: {} });
const semantics = { ordered: true, exclusive: false };

describe("the pipeline's observer", () => {
  it('is told the batch, each handler call with its outcome, each settlement in order, and the end', async () => {
    const log: string[] = [];
    const handler: MessageHandler<{ n: number }, SqlExecutor> = {
      handle: async (m) => (m.payload.n === 2 ? Outcome.retry('later') : Outcome.done()),
    };
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database: fakeDatabase(),
      handlers: [{ message: Noted, handler }],
      observer: recordingObserver(log),
    });
    await pipeline.process('source', [inbound(1), inbound(2), inbound(3)], semantics);
    expect(log).toEqual([
      'observer: batch of 3 from source',
      // 2 fails: the first transaction, with no savepoint, is rolled back, and the batch done again:
      // 1 under a savepoint, 2 with the outcome it gave (not asked again), 3 held behind it.
      'observer: call with 1',
      'observer: call ended done',
      'observer: call with 2',
      'observer: call ended retry',
      'observer: call with 1',
      'observer: call ended done',
      'observer: message 0 ack',
      'observer: message 1 retry',
      'observer: message 2 held',
      'observer: batch ended with 3',
    ]);
  });

  it('is told of a batch that failed, and of no settlement', async () => {
    const log: string[] = [];
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database: fakeDatabase(true),
      handlers: [{ message: Noted, handler: { handle: async () => Outcome.done() } }],
      observer: recordingObserver(log),
    });
    await expect(pipeline.process('source', [inbound(1)], semantics)).rejects.toThrow('the database is away');
    expect(log).toEqual(['observer: batch of 1 from source', 'observer: batch ended with an error']);
  });

  it('sees the handler the service registered, one call per run of a batch handler', async () => {
    const seen: unknown[] = [];
    const handler: BatchHandler<{ n: number }, SqlExecutor> = { handleBatch: async () => undefined };
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database: fakeDatabase(),
      handlers: [{ message: Noted, handler }],
      observer: { batchBegun: () => ({ handlerCalled: (call) => void seen.push(call.handler), batchEnded: () => {} }) },
    });
    await pipeline.process('source', [inbound(1), inbound(2)], semantics);
    expect(seen).toEqual([handler]);
    expect(seen[0]).toBe(handler);
  });

  it('runs the batch and each handler call inside its contexts, and chooses what a send goes with', async () => {
    const where = new AsyncLocalStorage<string>();
    const seenBy: string[] = [];
    const sentWith: EnvelopeOptions[] = [];
    const handler: MessageHandler<{ n: number }, SqlExecutor> = {
      handle: async (m, context) => {
        seenBy.push(where.getStore() ?? 'nowhere');
        context.send(Noted, { n: m.payload.n * 10 });
        return Outcome.done();
      },
    };
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database: fakeDatabase(),
      sender: recordingSender(sentWith),
      handlers: [{ message: Noted, handler }],
      observer: {
        batchBegun: () => ({
          run: (work) => where.run('batch', work),
          handlerCalled: (call) => ({
            run: (work) => where.run(`${where.getStore()} > call ${(call.messages[0].payload as { n: number }).n}`, work),
            sending: (_definition, _payload, options) => ({ ...options, traceparent: `chosen in ${where.getStore()}` }),
            ended: () => {},
          }),
          batchEnded: () => {},
        }),
      },
    });
    await pipeline.process('source', [inbound(1), inbound(2)], semantics);
    expect(seenBy).toEqual(['batch > call 1', 'batch > call 2']);
    expect(sentWith.map((options) => options.traceparent)).toEqual(['chosen in batch > call 1', 'chosen in batch > call 2']);
  });

  describe('when several observe', () => {
    it('tells each of them everything, in the order given, the first one outermost', async () => {
      const log: string[] = [];
      const where = new AsyncLocalStorage<string>();
      const nesting = (name: string): PipelineObserver => ({
        batchBegun: (source, messages) => ({
          ...recordingObserver(log, name).batchBegun(source, messages),
          run: (work) => where.run(`${where.getStore() ?? ''}/${name}`, work),
        }),
      });
      let inside = '';
      const pipeline = new ConsumerPipeline<SqlExecutor>({
        consumer: 'spec',
        database: fakeDatabase(),
        handlers: [{ message: Noted, handler: { handle: async () => ((inside = where.getStore() ?? ''), Outcome.done()) } }],
        observer: observeAll([nesting('metrics'), undefined, nesting('tracing')]),
      });
      await pipeline.process('source', [inbound(1)], semantics);
      expect(inside).toBe('/metrics/tracing');
      expect(log).toEqual([
        'metrics: batch of 1 from source',
        'tracing: batch of 1 from source',
        'metrics: call with 1',
        'tracing: call with 1',
        'metrics: call ended done',
        'tracing: call ended done',
        'metrics: message 0 ack',
        'tracing: message 0 ack',
        'metrics: batch ended with 1',
        'tracing: batch ended with 1',
      ]);
    });

    it('is nothing at all when none is given', () => {
      expect(observeAll([undefined, null])).toBeUndefined();
    });
  });
});
