import { describe, expect, it } from '@jest/globals';
import { table, truncate } from './table.ts';

describe('table', () => {
  it('aligns every column to its widest cell', () => {
    expect(
      table(
        ['id', 'type'],
        [
          ['1', 'ChargeOrder'],
          ['22', 'X'],
        ],
      ),
    ).toBe(['id  type', '--  -----------', '1   ChargeOrder', '22  X'].join('\n'));
  });

  it('shortens long text to one line', () => {
    expect(truncate('a\nlong   error message', 10)).toBe('a long er…');
    expect(truncate(null, 10)).toBe('');
  });
});
