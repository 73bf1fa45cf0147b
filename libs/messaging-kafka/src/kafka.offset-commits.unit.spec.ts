import { describe, expect, it } from '@jest/globals';
import { OffsetCommits } from './kafka.offset-commits.js';

/** A commit function whose calls the test completes by hand. */
function manualCommits() {
  const calls: { topic: string; partition: number; offset: string; done: () => void; fail: (e: Error) => void }[] = [];
  const commit = (topic: string, partition: number, offset: string) =>
    new Promise<void>((done, fail) => calls.push({ topic, partition, offset, done, fail }));
  return { calls, commit };
}

describe('OffsetCommits', () => {
  it('commits the offset after the settled record', async () => {
    const { calls, commit } = manualCommits();
    const commits = new OffsetCommits(commit, () => {});
    commits.settled('orders', 1, '41');
    expect(calls.map((c) => [c.topic, c.partition, c.offset])).toEqual([['orders', 1, '42']]);
    calls[0].done();
    await commits.flush();
  });

  it('folds the offsets settled during a commit into the next one, per partition', async () => {
    const { calls, commit } = manualCommits();
    const commits = new OffsetCommits(commit, () => {});
    commits.settled('orders', 0, '0');
    commits.settled('orders', 0, '1');
    commits.settled('orders', 0, '2');
    commits.settled('orders', 1, '7');
    expect(calls.map((c) => `${c.partition}@${c.offset}`)).toEqual(['0@1', '1@8']);

    calls[0].done();
    await new Promise(setImmediate);
    expect(calls.map((c) => `${c.partition}@${c.offset}`)).toEqual(['0@1', '1@8', '0@3']);
    calls[1].done();
    calls[2].done();
    await commits.flush();
  });

  it('reports a failed commit and lets the next settled record commit past it', async () => {
    const { calls, commit } = manualCommits();
    const errors: unknown[] = [];
    const commits = new OffsetCommits(commit, (error) => errors.push(error));
    commits.settled('orders', 0, '5');
    calls[0].fail(new Error('rebalancing'));
    await commits.flush();
    expect(errors).toEqual([new Error('rebalancing')]);

    commits.settled('orders', 0, '6');
    expect(calls.at(-1)?.offset).toBe('7');
    calls.at(-1)!.done();
    await commits.flush();
  });

  it('flush waits for the commits in flight', async () => {
    const { calls, commit } = manualCommits();
    const commits = new OffsetCommits(commit, () => {});
    commits.settled('orders', 0, '0');
    let flushed = false;
    const flushing = commits.flush().then(() => (flushed = true));
    await new Promise(setImmediate);
    expect(flushed).toBe(false);
    calls[0].done();
    await flushing;
    expect(flushed).toBe(true);
  });
});
