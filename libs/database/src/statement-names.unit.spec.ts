import { describe, expect, it } from '@jest/globals';
import { StatementNames } from './statement-names.js';

describe('StatementNames', () => {
  it('names each SQL text once, and the same text the same every time', () => {
    const names = new StatementNames();
    const claim = names.nameOf('SELECT 1');
    const mark = names.nameOf('SELECT 2');
    expect(claim).not.toBe('');
    expect(mark).not.toBe(claim);
    expect(names.nameOf('SELECT 1')).toBe(claim);
  });

  it('leaves the texts past its limit unnamed, and keeps the names it gave', () => {
    const names = new StatementNames(2);
    const first = names.nameOf('SELECT 1');
    const second = names.nameOf('SELECT 2');
    expect(names.nameOf('SELECT 3')).toBe('');
    expect(names.nameOf('SELECT 4')).toBe('');
    expect([names.nameOf('SELECT 1'), names.nameOf('SELECT 2')]).toEqual([first, second]);
  });

  it('leaves a text with a list of placeholders unnamed, each length of it a new text, and names the others all the same', () => {
    const names = new StatementNames(2);
    for (let length = 2; length <= 50; length += 1) {
      const list = Array.from({ length }, (_, i) => `$${i + 1}`).join(',');
      expect(names.nameOf(`SELECT id FROM charge WHERE order_id IN (${list})`)).toBe('');
    }
    expect(names.nameOf('SELECT id FROM charge WHERE order_id = ANY($1::uuid[])')).not.toBe('');
    expect(names.nameOf('SELECT make_interval(secs => $1)')).not.toBe('');
  });
});
