import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { readWholeLog, type LogReader } from './log.reader.js';

/** A log of `count` records, whose reader hands out pages of what it asks for (or of `short` records at most). */
function log(count: number, short = Infinity) {
  const asked: number[] = [];
  let next = 0;
  let closed = false;
  const reader: LogReader<number> = {
    count,
    async page(max) {
      asked.push(max);
      const page = Array.from({ length: Math.min(max, short, count - next) }, (_, i) => next + i);
      next += page.length;
      return page;
    },
    async close() {
      closed = true;
    },
  };
  return { reader, asked, isClosed: () => closed };
}

describe('a whole log read to its end', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads every record in order, asking no page for more than are left, and closes its reader', async () => {
    const { reader, asked, isClosed } = log(2_500);
    const records = await readWholeLog({ label: 'orders', timeoutMs: 10_000 }, async () => reader);
    expect(records).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
    expect(asked).toEqual([1_000, 1_000, 500]);
    expect(isClosed()).toBe(true);
  });

  it('ends early when a page brings nothing: the rest was deleted meanwhile', async () => {
    const { reader } = log(10, 0);
    await expect(readWholeLog({ label: 'orders', timeoutMs: 10_000 }, async () => reader)).resolves.toEqual([]);
  });

  it('reads nothing of a log there is nothing to read in', async () => {
    await expect(readWholeLog({ label: 'orders', timeoutMs: 10_000 }, async () => null)).resolves.toEqual([]);
  });

  it('fails a read that does not reach the end in time, and still closes its reader', async () => {
    const { reader, isClosed } = log(10, 1);
    const page = reader.page.bind(reader);
    let now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    // Each page takes the broker a second.
    reader.page = (max) => ((now += 1_000), page(max));
    await expect(readWholeLog({ label: 'orders', timeoutMs: 2_500 }, async () => reader)).rejects.toThrow(
      'reading orders did not reach its end in 2500 ms',
    );
    expect(isClosed()).toBe(true);
  });
});
