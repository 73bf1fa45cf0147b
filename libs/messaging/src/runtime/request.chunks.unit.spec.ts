import { describe, expect, it } from '@jest/globals';
import { chunksWithin } from './request.chunks.js';

const bySize = (size: number) => size;

describe('entries cut into batch requests', () => {
  it('fill each request up to its count of entries, in their order', () => {
    expect(chunksWithin([1, 2, 3, 4, 5], { entries: 2, bytes: 100 }, bySize)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('start a new request where the next entry would pass the bytes', () => {
    expect(chunksWithin([40, 40, 30, 10, 90], { entries: 10, bytes: 100 }, bySize)).toEqual([[40, 40], [30, 10], [90]]);
  });

  it('send an entry over the bytes by itself, alone, and make nothing of nothing', () => {
    expect(chunksWithin([10, 300, 10], { entries: 10, bytes: 100 }, bySize)).toEqual([[10], [300], [10]]);
    expect(chunksWithin([], { entries: 10, bytes: 100 }, bySize)).toEqual([]);
  });
});
