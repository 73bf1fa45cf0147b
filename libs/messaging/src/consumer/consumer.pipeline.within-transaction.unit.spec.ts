import { describe, expect, it } from '@jest/globals';
import { defineMessage } from '@boxoffice/contracts';
import { z } from 'zod';
import { EnvelopeFactory } from '../envelope.factory.js';
import { Outcome } from '../handler-outcome.js';
import type { SqlExecutor, TransactionRunner } from '../sql-client.js';
import { ConsumerPipeline } from './consumer.pipeline.js';
import type { Settlement } from '../transport.port.js';
import type { MessageHandler } from './message-handler.js';

const Noted = defineMessage({
  type: 'HookNoted',
  version: 1,
  kind: 'event',
  description: 'A message for the withinTransaction spec.',
  schema: z.object({ n: z.number() }),
});

/**
 * A database that only records what is said in its transactions: the inbox claim answers that
 * every id is new. Enough to see where the hook runs relative to the handlers and the commit.
 */
function recordingDatabase() {
  const log: string[] = [];
  const tx: SqlExecutor = {
    async $executeRawUnsafe(query) {
      log.push(query.trim().split(/\s+/)[0]);
      return 0;
    },
    async $queryRawUnsafe<T>(query: string, ...values: unknown[]) {
      log.push('INSERT inbox');
      // Inbox.claim: (consumer, a JSON array of { id, type }).
      const claimed = query.includes('inbox_message') ? (JSON.parse(String(values[1])) as Array<{ id: string }>) : [];
      return claimed.map(({ id }) => ({ id: id.toLowerCase() })) as T;
    },
  };
  const database: TransactionRunner<SqlExecutor> = {
    async $transaction(work) {
      log.push('BEGIN');
      try {
        const result = await work(tx);
        log.push('COMMIT');
        return result;
      } catch (error) {
        log.push('ROLLBACK');
        throw error;
      }
    },
  };
  return { database, log };
}

const envelopes = new EnvelopeFactory('spec');
const inbound = (n: number) => ({ body: JSON.stringify(envelopes.create(Noted, { n })), headers: {} });

describe("the pipeline's withinTransaction hook", () => {
  it('runs in the batch transaction after the handlers and before COMMIT, with every settlement', async () => {
    const { database, log } = recordingDatabase();
    const noting: MessageHandler<{ n: number }, SqlExecutor> = {
      handle: async (m) => (log.push(`handle ${m.payload.n}`), m.payload.n === 2 ? Outcome.retry('later') : Outcome.done()),
    };
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database,
      handlers: [{ message: Noted, handler: noting }],
    });
    let seen: ReadonlyArray<Settlement> = [];
    await pipeline.process('source', [inbound(1), inbound(2), inbound(3)], {
      ordered: true,
      exclusive: false,
      withinTransaction: async (tx, settlements) => {
        seen = [...settlements];
        await tx.$executeRawUnsafe('UPDATE checkpoint');
      },
    });
    expect(log.indexOf('UPDATE')).toBeGreaterThan(log.indexOf('handle 2'));
    expect(log.indexOf('UPDATE')).toBe(log.lastIndexOf('COMMIT') - 1);
    expect(seen.map((s) => s.kind)).toEqual(['ack', 'retry', 'held']);
  });

  it('opens a transaction for a batch with nothing to handle, so the cursor moves past poison too', async () => {
    const { database, log } = recordingDatabase();
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database,
      handlers: [{ message: Noted, handler: { handle: async () => Outcome.done() } }],
    });
    let seen: ReadonlyArray<Settlement> = [];
    await pipeline.process('source', [{ body: 'not json', headers: {} }], {
      ordered: true,
      exclusive: false,
      withinTransaction: async (_tx, settlements) => void (seen = [...settlements]),
    });
    expect(log).toEqual(['BEGIN', 'COMMIT']);
    expect(seen.map((s) => s.kind)).toEqual(['dead-letter']);
  });

  it('aborts the batch when it throws: process rejects and nothing commits', async () => {
    const { database, log } = recordingDatabase();
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database,
      handlers: [{ message: Noted, handler: { handle: async () => Outcome.done() } }],
    });
    const processing = pipeline.process('source', [inbound(1)], {
      ordered: true,
      exclusive: false,
      withinTransaction: async () => {
        throw new Error('lease lost');
      },
    });
    await expect(processing).rejects.toThrow('lease lost');
    expect(log.at(-1)).toBe('ROLLBACK');
    expect(log).not.toContain('COMMIT');
  });

  it('without it, a batch of nothing to handle opens no transaction', async () => {
    const { database, log } = recordingDatabase();
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'spec',
      database,
      handlers: [{ message: Noted, handler: { handle: async () => Outcome.done() } }],
    });
    await pipeline.process('source', [{ body: 'not json', headers: {} }], { ordered: true, exclusive: false });
    expect(log).toEqual([]);
  });
});
