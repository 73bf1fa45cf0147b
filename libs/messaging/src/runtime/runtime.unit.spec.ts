import { describe, expect, it } from '@jest/globals';
import type { BatchProcessor, InboundMessage, Settlement } from '../transport.port.js';
import { processUntilCommitted } from './batch.attempts.js';
import { DeliveryBuffer } from './delivery.buffer.js';
import { HealingConnection, type ConnectionDriver } from './healing.connection.js';
import { LaneRunner, type Lane } from './lane.runner.js';
import { settleInOrder, settledPrefix } from './ordered-log.js';
import { untilStopped } from './stoppable.js';
import { silentLogger } from '../logger.js';

const fast = { initialDelayMs: 1, multiplier: 1, maxDelayMs: 1, jitter: 0 };
const ack: Settlement = { kind: 'ack', as: 'done' };
const held: Settlement = { kind: 'held' };
const retry = (delayMs: number): Settlement => ({ kind: 'retry', delayMs, attempts: 1, reason: 'no', headers: { 'x-attempts': '1' } });
const deadLetter: Settlement = { kind: 'dead-letter', attempts: 1, reason: 'poison', headers: {}, messageId: null };

/** Resolves once `check` holds, polling the event loop; fails the test after a second. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 1 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('untilStopped', () => {
  it('tries a failing step again until it works', async () => {
    let tries = 0;
    const failures: unknown[] = [];
    const result = await untilStopped(
      async () => {
        tries += 1;
        if (tries < 3) throw new Error(`try ${tries}`);
        return 'done';
      },
      { signal: new AbortController().signal, backoff: fast, onFailure: (error) => failures.push(error) },
    );
    expect(result).toBe('done');
    expect(failures).toHaveLength(2);
  });

  it('gives up at once on an error no try can mend', async () => {
    let tries = 0;
    const result = await untilStopped(
      async () => {
        tries += 1;
        throw new Error('lease lost');
      },
      { signal: new AbortController().signal, backoff: fast, onFailure: () => {}, giveUp: (error) => String(error).includes('lease') },
    );
    expect(result).toBeUndefined();
    expect(tries).toBe(1);
  });

  it('stops waiting as soon as it is stopped', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const trying = untilStopped(() => Promise.reject(new Error('away')), {
      signal: stop.signal,
      backoff: { initialDelayMs: 60_000, multiplier: 1, maxDelayMs: 60_000, jitter: 0 },
      onFailure: () => stop.abort(),
    });
    await expect(trying).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('a delivery buffer', () => {
  it('closes a batch at its size', async () => {
    const buffer = new DeliveryBuffer<number>();
    for (let i = 0; i < 5; i++) buffer.push(i);
    await expect(buffer.next({ maxMessages: 3, maxWaitMs: 60_000 }, new AbortController().signal)).resolves.toEqual([0, 1, 2]);
    expect(buffer.size).toBe(2);
  });

  it('closes a batch at its wait with what came', async () => {
    const buffer = new DeliveryBuffer<number>();
    buffer.push(0);
    buffer.push(1);
    await expect(buffer.next({ maxMessages: 100, maxWaitMs: 20 }, new AbortController().signal)).resolves.toEqual([0, 1]);
  });

  it('sends a delivery that comes after a quiet spell at once, with what came in the same read', async () => {
    const buffer = new DeliveryBuffer<number>();
    const lone = buffer.next({ maxMessages: 100, maxWaitMs: 60_000 }, new AbortController().signal);
    buffer.push(1);
    await expect(lone).resolves.toEqual([1]);
    const buffer2 = new DeliveryBuffer<number>();
    const burst = buffer2.next({ maxMessages: 100, maxWaitMs: 60_000 }, new AbortController().signal);
    buffer2.push(2); // the first after the quiet...
    buffer2.push(3); // ...and one read from the socket with it
    await expect(burst).resolves.toEqual([2, 3]);
  });

  it('waits for the batch to fill while deliveries come close together', async () => {
    const buffer = new DeliveryBuffer<number>();
    buffer.push(1);
    await buffer.next({ maxMessages: 1, maxWaitMs: 60_000 }, new AbortController().signal);
    const batch = buffer.next({ maxMessages: 2, maxWaitMs: 60_000 }, new AbortController().signal);
    buffer.push(2); // right after 1: more are coming
    setImmediate(() => buffer.push(3)); // a later read from the socket
    await expect(batch).resolves.toEqual([2, 3]);
  });

  it('keeps a batch to deliveries that settle together', async () => {
    const buffer = new DeliveryBuffer<{ channel: string; n: number }>((first, other) => first.channel === other.channel);
    buffer.push({ channel: 'a', n: 1 });
    buffer.push({ channel: 'b', n: 2 });
    const batch = await buffer.next({ maxMessages: 10, maxWaitMs: 0 }, new AbortController().signal);
    expect(batch.map(({ n }) => n)).toEqual([1]);
    expect(buffer.take(({ channel }) => channel === 'b').map(({ n }) => n)).toEqual([2]);
    expect(buffer.size).toBe(0);
  });

  it('returns nothing once stopped, leaving what waits to be handed back', async () => {
    const buffer = new DeliveryBuffer<number>();
    const stop = new AbortController();
    const batch = buffer.next({ maxMessages: 10, maxWaitMs: 60_000 }, stop.signal);
    buffer.push(7);
    stop.abort();
    await expect(batch).resolves.toEqual([]);
    expect(buffer.take()).toEqual([7]);
  });
});

describe('a self-healing connection', () => {
  /** A broker that refuses `refusals` times, then hands out numbered connections that the test can drop. */
  function broker(refusals: number) {
    const drops = new Map<number, (why: string) => void>();
    let opened = 0;
    const driver: ConnectionDriver<number> = {
      open: async () => {
        if (refusals-- > 0) throw new Error('refused');
        return ++opened;
      },
      close: async () => {},
      watch: (connection, lost) => void drops.set(connection, lost),
    };
    return { driver, drop: (connection: number) => drops.get(connection)!('socket closed') };
  }

  it('connects through refusals, then runs its setups on every reconnect', async () => {
    const { driver, drop } = broker(2);
    const connection = new HealingConnection(driver, { name: 'test', initialDelayMs: 1, maxDelayMs: 1 });
    const setUp: number[] = [];
    await connection.onConnect(async (c) => void setUp.push(c));
    await connection.connect();
    expect(connection.current()).toBe(1);
    drop(1);
    await eventually(() => connection.isConnected);
    expect(setUp).toEqual([1, 2]);
    expect(connection.counters).toEqual({ connects: 2, connectionLosses: 1 });
    await connection.close();
    expect(connection.isConnected).toBe(false);
  });

  it('throws a setup that fails on the live connection, and unregisters it', async () => {
    const { driver } = broker(0);
    const connection = new HealingConnection(driver, { name: 'test' });
    await connection.connect();
    await expect(connection.onConnect(() => Promise.reject(new Error('no such queue')))).rejects.toThrow('no such queue');
    await connection.close();
  });

  it('stops trying once closed', async () => {
    const { driver } = broker(Number.POSITIVE_INFINITY);
    const connection = new HealingConnection(driver, { name: 'test', initialDelayMs: 1, maxDelayMs: 1 });
    const connecting = connection.connect();
    await connection.close();
    await expect(connecting).rejects.toThrow('closed');
  });
});

describe('processing a batch until it commits', () => {
  const messages: InboundMessage[] = [{ body: '{}', headers: {} }];
  const semantics = { ordered: false, exclusive: true };

  it('tries again while the database is away, keeping the batch alive meanwhile', async () => {
    let tries = 0;
    const pipeline: BatchProcessor = {
      process: async () => {
        tries += 1;
        if (tries === 1) throw new Error('database away');
        return [ack];
      },
    };
    let kept = 0;
    const settlements = await processUntilCommitted(pipeline, 'q', messages, semantics, {
      signal: new AbortController().signal,
      keepAlive: () => {
        kept += 1;
        return () => (kept -= 1);
      },
      logger: silentLogger,
      label: 'test',
    });
    expect(settlements).toEqual([ack]);
    expect(tries).toBe(2);
    expect(kept).toBe(0);
  });

  it('gives the batch up once it can no longer be settled', async () => {
    let settleable = true;
    const pipeline: BatchProcessor = {
      process: async () => {
        settleable = false; // the channel closed while the database was away
        throw new Error('database away');
      },
    };
    const settlements = await processUntilCommitted(pipeline, 'q', messages, semantics, {
      signal: new AbortController().signal,
      settleable: () => settleable,
      logger: silentLogger,
      label: 'test',
    });
    expect(settlements).toBeNull();
  });
});

describe('a lane runner', () => {
  it('processes and settles batch after batch, and hands back what it could not', async () => {
    const settled: number[][] = [];
    const released: number[][] = [];
    const queue = [[1, 2], [3]];
    const lane: Lane<number> = {
      source: 'q',
      receive: async (signal) =>
        queue.shift() ?? (await new Promise<number[]>((resolve) => signal.addEventListener('abort', () => resolve([])))),
      inbound: (n) => ({ body: String(n), headers: {} }),
      settle: async (batch) => void settled.push([...batch]),
      release: async (batch) => void released.push([...batch]),
    };
    const pipeline: BatchProcessor = {
      process: async (_source, batch) => {
        if (batch.some((message) => message.body === '3')) throw new Error('database away');
        return batch.map(() => ack);
      },
    };
    const runner = new LaneRunner<number>({ pipeline, semantics: { ordered: false, exclusive: true }, label: 'test' });
    runner.start([lane]);
    await eventually(() => settled.length === 1);
    await runner.stop();
    expect(settled).toEqual([[1, 2]]);
    expect(released).toEqual([[3]]);
  });

  it('keeps a batch alive while the pipeline has it, and no longer once abandoned, as a dead process would', async () => {
    let kept = 0;
    let handedOut = false;
    const lane: Lane<number> = {
      source: 'q',
      receive: async (signal) => {
        if (!handedOut) return ((handedOut = true), [1]);
        return new Promise<number[]>((resolve) => signal.addEventListener('abort', () => resolve([])));
      },
      inbound: (n) => ({ body: String(n), headers: {} }),
      settle: async () => {},
      release: async () => {},
      keepAlive: () => {
        kept += 1;
        return () => (kept -= 1);
      },
    };
    // The database never answers: the batch stays in the pipeline until the runner goes.
    const pipeline: BatchProcessor = { process: () => new Promise<Settlement[]>(() => {}) };
    const runner = new LaneRunner<number>({ pipeline, semantics: { ordered: false, exclusive: true }, label: 'test' });
    runner.start([lane]);
    await eventually(() => kept === 1);
    runner.abandon();
    expect(kept).toBe(0);
  });
});

describe('settling an ordered log', () => {
  it('reads the settled prefix up to the first retry or held message', () => {
    expect(settledPrefix([ack, deadLetter, retry(5), held])).toBe(2);
    expect(settledPrefix([ack, ack])).toBe(2);
  });

  it('commits the prefix, waits the retry in place, and goes on from the retried record with its new headers', async () => {
    const rounds: string[][] = [];
    const committed: string[][] = [];
    const waits: number[] = [];
    let failFirst = true;
    const done = await settleInOrder(['a', 'b', 'c'], {
      process: async (records) => {
        rounds.push([...records]);
        if (failFirst && records.includes('b')) {
          failFirst = false;
          return records.map((record) => (record === 'a' ? ack : record === 'b*' || record === 'b' ? retry(40) : held));
        }
        return records.map(() => ack);
      },
      commit: async (records) => void committed.push([...records]),
      wait: async (ms) => {
        waits.push(ms);
        return true;
      },
      retried: (record, headers) => (headers['x-attempts'] === '1' ? `${record}*` : record),
    });
    expect(done).toBe(true);
    expect(rounds).toEqual([
      ['a', 'b', 'c'],
      ['b*', 'c'],
    ]);
    expect(committed).toEqual([['a'], ['b*', 'c']]);
    expect(waits).toEqual([40]);
  });

  it('gives up, committing nothing more, when the wait is cut short', async () => {
    const committed: string[][] = [];
    const done = await settleInOrder(['a'], {
      process: async () => [retry(10)],
      commit: async (records) => void committed.push([...records]),
      wait: async () => false,
      retried: (record) => record,
    });
    expect(done).toBe(false);
    expect(committed).toEqual([]);
  });
});
