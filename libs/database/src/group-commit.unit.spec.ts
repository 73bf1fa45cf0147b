import { describe, expect, it } from '@jest/globals';
import { GroupCommit } from './group-commit.js';

/** A write the test finishes by hand: each call waits until the test says. */
function heldWrites<Item, Result>(resultOf: (item: Item) => Result) {
  const calls: Array<{ batch: ReadonlyArray<Item>; finish: () => void; fail: (error: Error) => void }> = [];
  const write = (batch: ReadonlyArray<Item>) =>
    new Promise<ReadonlyArray<Result>>((resolve, reject) => {
      calls.push({ batch, finish: () => resolve(batch.map(resultOf)), fail: reject });
    });
  return { calls, write };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes a caller alone at once, and those who come meanwhile together in the next write', async () => {
    const { calls, write } = heldWrites((n: number) => n * 10);
    const commits = new GroupCommit(write, { maxBatch: 100, maxInFlight: 1 });
    const first = commits.submit(1);
    expect(calls.map((c) => c.batch)).toEqual([[1]]);
    const rest = [2, 3, 4].map((n) => commits.submit(n));
    expect(calls).toHaveLength(1);
    calls[0].finish();
    expect(await first).toBe(10);
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([[1], [2, 3, 4]]);
    calls[1].finish();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it('keeps maxInFlight writes running and cuts batches at maxBatch', async () => {
    const { calls, write } = heldWrites((n: number) => n);
    const commits = new GroupCommit(write, { maxBatch: 2, maxInFlight: 2 });
    const results = [1, 2, 3, 4, 5, 6].map((n) => commits.submit(n));
    expect(calls.map((c) => c.batch)).toEqual([[1], [2]]);
    calls[0].finish();
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([[1], [2], [3, 4]]);
    calls[1].finish();
    await settle();
    expect(calls.map((c) => c.batch)).toEqual([[1], [2], [3, 4], [5, 6]]);
    calls[2].finish();
    calls[3].finish();
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fails every caller of a failed write, and goes on with the next batch', async () => {
    const { calls, write } = heldWrites((n: number) => n);
    const commits = new GroupCommit(write, { maxBatch: 10, maxInFlight: 1 });
    const first = commits.submit(1);
    const failed = [2, 3].map((n) => commits.submit(n));
    calls[0].finish();
    await first;
    await settle();
    calls[1].fail(new Error('the database is away'));
    for (const result of failed) await expect(result).rejects.toThrow('the database is away');
    const after = commits.submit(4);
    calls[2].finish();
    expect(await after).toBe(4);
  });

  it('refuses a write that does not answer every item', async () => {
    const commits = new GroupCommit(async (batch: ReadonlyArray<number>) => batch.slice(1), { maxBatch: 10, maxInFlight: 1 });
    await expect(commits.submit(1)).rejects.toThrow('returned 0 results for 1 items');
  });
});
