import { describe, expect, it } from '@jest/globals';
import { waitFor } from './wait-for.js';

describe('waitFor', () => {
  it('returns the first value the condition accepts', async () => {
    let calls = 0;
    const value = await waitFor(
      () => ++calls,
      (n) => n >= 3,
      { intervalMs: 1 },
    );
    expect(value).toBe(3);
  });

  it('fails at the deadline naming what it waited for and the last value seen', async () => {
    await expect(
      waitFor(
        () => 1,
        (n) => n > 1,
        { timeoutMs: 30, intervalMs: 5, description: 'n above 1' },
      ),
    ).rejects.toThrow(/waiting for n above 1 \(last value: 1\)/);
  });
});
