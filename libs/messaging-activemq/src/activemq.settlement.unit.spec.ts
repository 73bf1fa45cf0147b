import { describe, expect, it } from '@jest/globals';
import { dispositionFor, settleByOutcome, type FinalDisposition, type Settleable } from './activemq.settlement.js';

describe('a settlement in Artemis terms', () => {
  it('accepts an ack, redelivers a retry, parks a dead letter and releases what was held', () => {
    expect(dispositionFor({ kind: 'ack', as: 'done' })).toBe('accept');
    expect(dispositionFor({ kind: 'ack', as: 'duplicate' })).toBe('accept');
    expect(dispositionFor({ kind: 'retry', delayMs: 100, attempts: 1, reason: 'x', headers: {} })).toBe('redeliver');
    expect(dispositionFor({ kind: 'dead-letter', attempts: 3, reason: 'x', headers: {}, messageId: null })).toBe('dead-letter');
    expect(dispositionFor({ kind: 'held' })).toBe('release');
  });
});

describe('when a batch has mixed outcomes', () => {
  it('settles each outcome in a turn of its own, so no delivery takes its neighbour outcome', async () => {
    let turn = 0;
    const calls: Array<[number, string, string]> = [];
    const fake = (id: string): Settleable => ({
      accept: () => calls.push([turn, id, 'accept']),
      release: () => calls.push([turn, id, 'release']),
      modified: ({ delivery_failed }) => calls.push([turn, id, delivery_failed ? 'modified-failed' : 'modified']),
    });
    const plan: Array<[string, FinalDisposition]> = [
      ['a', 'accept'],
      ['b', 'redeliver'],
      ['c', 'accept'],
      ['d', 'release'],
      ['e', 'redeliver'],
    ];
    await settleByOutcome(
      plan.map(([id, disposition]) => ({ delivery: fake(id), disposition })),
      (operation) => operation(),
      async () => void (turn += 1),
    );
    expect(calls).toEqual([
      [0, 'a', 'accept'],
      [0, 'c', 'accept'],
      [1, 'b', 'modified-failed'],
      [1, 'e', 'modified-failed'],
      [2, 'd', 'release'],
    ]);
  });

  it('needs no extra turn when every delivery has the same outcome', async () => {
    let turns = 0;
    const accepted: string[] = [];
    const fake = (id: string): Settleable => ({ accept: () => accepted.push(id), release: () => {}, modified: () => {} });
    await settleByOutcome(
      [
        { delivery: fake('a'), disposition: 'accept' },
        { delivery: fake('b'), disposition: 'accept' },
      ],
      (op) => op(),
      async () => void (turns += 1),
    );
    expect(accepted).toEqual(['a', 'b']);
    expect(turns).toBe(0);
  });
});
