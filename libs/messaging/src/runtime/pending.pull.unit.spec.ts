import { describe, expect, it } from '@jest/globals';
import { pullPending, type PendingSource } from './pending.pull.js';

/** A message and how many waited behind it when it was delivered. */
type Pulled = { readonly seq: number; readonly pending: number };

/** A broker holding `waiting` messages, which records every pull it was asked for. */
function broker(waiting: number) {
  let next = 0;
  const pulls: number[] = [];
  const take = (count: number) =>
    Array.from({ length: Math.min(count, waiting - next) }, () => {
      next += 1;
      return { seq: next, pending: waiting - next };
    });
  async function* each(messages: Pulled[]) {
    yield* messages;
  }
  const source: PendingSource<Pulled> = {
    first: async () => take(1)[0] ?? null,
    more: async (count) => {
      pulls.push(count);
      return each(take(count));
    },
    pendingAfter: (message) => message.pending,
  };
  return { source, pulls };
}

const open = new AbortController().signal;

describe('a batch pulled from a broker that says what is pending', () => {
  it('asks for exactly what waits, never more, and stops once none wait', async () => {
    const { source, pulls } = broker(7);
    const batch = await pullPending(source, { maxMessages: 50, maxWaitMs: 1_000 }, open);
    expect(batch.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(pulls).toEqual([6]);
  });

  it('stops pulling once a pull brings nothing, another lane having taken what was pending', async () => {
    const { source, pulls } = broker(0); // empty by the time this lane pulls
    const stale = { ...source, first: async () => ({ seq: 1, pending: 5 }) };
    const batch = await pullPending(stale, { maxMessages: 50, maxWaitMs: 60_000 }, open);
    expect(batch.map((m) => m.seq)).toEqual([1]);
    expect(pulls).toHaveLength(1);
  });

  it('stops at the batch size', async () => {
    const { source, pulls } = broker(100);
    await expect(pullPending(source, { maxMessages: 10, maxWaitMs: 1_000 }, open)).resolves.toHaveLength(10);
    expect(pulls).toEqual([9]);
  });

  it('is empty when no first message came', async () => {
    const { source, pulls } = broker(0);
    await expect(pullPending(source, { maxMessages: 10, maxWaitMs: 1_000 }, open)).resolves.toEqual([]);
    expect(pulls).toEqual([]);
  });

  it('pulls no more once stopped', async () => {
    const stop = new AbortController();
    stop.abort();
    const { source, pulls } = broker(5);
    await expect(pullPending(source, { maxMessages: 10, maxWaitMs: 1_000 }, stop.signal)).resolves.toHaveLength(1);
    expect(pulls).toEqual([]);
  });
});
