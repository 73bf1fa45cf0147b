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
});
