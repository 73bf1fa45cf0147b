import { describe, expect, it } from '@jest/globals';
import type { BatchProcessor, Settlement, SourceSemantics } from '../transport.port.js';
import { LaneConsumer } from './lane.consumer.js';
import { LaneRunner, type Lane } from './lane.runner.js';

const ack: Settlement = { kind: 'ack', as: 'done' };
const held: Settlement = { kind: 'held' };
const retry = (delayMs: number): Settlement => ({ kind: 'retry', delayMs, attempts: 1, reason: 'no', headers: { 'x-attempts': '1' } });
const unordered: SourceSemantics = { ordered: false, exclusive: true };

/** Resolves once `check` holds, polling the event loop; fails the test after a second. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 1 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

interface Entry {
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A lane that hands out one batch, then waits until stopped. */
function orderedLane(batch: Entry[], settled: string[][], released: string[][]): Lane<Entry> {
  let handedOut = false;
  return {
    source: 'log',
    semantics: { ordered: true, exclusive: false },
    receive: async (signal) => {
      if (!handedOut) return ((handedOut = true), batch);
      return new Promise<Entry[]>((resolve) => signal.addEventListener('abort', () => resolve([])));
    },
    inbound: ({ name, headers }) => ({ body: name, headers }),
    settle: async (records) => void settled.push(records.map((r) => r.name)),
    release: async (records) => void released.push(records.map((r) => r.name)),
    retriesInPlace: true,
  };
}

describe('a lane that reads in order', () => {
  it('settles the prefix, waits the retry in place, and goes on from the retried delivery with its failure headers', async () => {
    const seen: Array<{ names: string[]; attempts: Array<string | undefined>; ordered: boolean }> = [];
    const pipeline: BatchProcessor = {
      process: async (_source, messages, semantics) => {
        seen.push({
          names: messages.map((m) => String(m.body)),
          attempts: messages.map((m) => m.headers['x-attempts']),
          ordered: semantics.ordered,
        });
        return messages.map((m) =>
          m.body === 'b' && m.headers['x-attempts'] === undefined ? retry(30) : m.body === 'c' && seen.length === 1 ? held : ack,
        );
      },
    };
    const settled: string[][] = [];
    const runner = new LaneRunner<Entry>({ pipeline, semantics: unordered, label: 'test' });
    const started = Date.now();
    runner.start([
      orderedLane(
        ['a', 'b', 'c'].map((name) => ({ name, headers: {} })),
        settled,
        [],
      ),
    ]);
    await eventually(() => settled.length === 2);
    await runner.stop();
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(seen).toEqual([
      { names: ['a', 'b', 'c'], attempts: [undefined, undefined, undefined], ordered: true },
      { names: ['b', 'c'], attempts: ['1', undefined], ordered: true },
    ]);
    expect(settled).toEqual([['a'], ['b', 'c']]);
  });

  it('releases only what it had not settled when stopped during a retry wait', async () => {
    const pipeline: BatchProcessor = {
      process: async (_source, messages) => messages.map((m) => (m.body === 'a' ? ack : m.body === 'b' ? retry(60_000) : held)),
    };
    const settled: string[][] = [];
    const released: string[][] = [];
    const runner = new LaneRunner<Entry>({ pipeline, semantics: unordered, label: 'test' });
    runner.start([
      orderedLane(
        ['a', 'b', 'c'].map((name) => ({ name, headers: {} })),
        settled,
        released,
      ),
    ]);
    await eventually(() => settled.length === 1);
    await expect(runner.stop()).resolves.toBe(true);
    expect(settled).toEqual([['a']]);
    expect(released).toEqual([['b', 'c']]);
  });
});

describe('a consumer made of lanes', () => {
  class TestConsumer extends LaneConsumer<Entry> {
    constructor(private readonly open: () => Promise<Array<Lane<Entry>>>) {
      const pipeline: BatchProcessor = { process: async (_source, messages) => messages.map(() => ack) };
      super(
        'test',
        { consumer: 'spec', channels: ['log'], pipeline, batch: { maxMessages: 10, maxWaitMs: 5 }, concurrency: 1 },
        {
          semantics: unordered,
        },
      );
    }

    protected lanes(): Promise<Array<Lane<Entry>>> {
      return this.open();
    }
  }

  it('is stopped, and says why, when its lanes cannot be opened', async () => {
    const consumer = new TestConsumer(async () => Promise.reject(new Error('no such queue')));
    await expect(consumer.start()).rejects.toThrow('no such queue');
    expect(consumer.state).toBe('stopped');
  });

  it('runs its lanes from start to stop', async () => {
    const settled: string[][] = [];
    const consumer = new TestConsumer(async () => [orderedLane([{ name: 'a', headers: {} }], settled, [])]);
    await consumer.start();
    expect(consumer.state).toBe('running');
    await expect(consumer.start()).rejects.toThrow('already started');
    await eventually(() => settled.length === 1);
    await consumer.stop();
    expect(consumer.state).toBe('stopped');
  });
});
