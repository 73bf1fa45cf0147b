import { describe, expect, it } from '@jest/globals';
import { FailureHeaders, type Headers } from '../failure.headers.js';
import type { DeadLetter } from './dead-letter.js';
import { DeadLetterNotFound } from './dead-letter.js';
import { BrowsableShelf } from './dead-letter.browsable-shelf.js';
import { deadLetterOf } from './dead-letter.shelf.js';

type Letter = { readonly seq: number; readonly headers: Headers; readonly body: string };

const failed = (seq: number, id: string): Letter => ({
  seq,
  body: `{"id":"${id}"}`,
  headers: { 'message-id': id, [FailureHeaders.attempts]: '3', [FailureHeaders.originalSource]: 'billing.charge-order' },
});

/** A store in memory that says, in order, what was sent back and what removed. */
class MemoryShelf extends BrowsableShelf<Letter> {
  readonly steps: string[] = [];
  refuse = false;

  constructor(readonly held: Letter[]) {
    super();
  }

  protected async stores(): Promise<string[]> {
    return ['billing.charge-order.dlq'];
  }
  protected async read(): Promise<Letter[]> {
    return [...this.held];
  }
  protected letterOf(store: string, { headers, body, seq }: Letter): DeadLetter {
    return deadLetterOf({ transport: 'memory', store, headers, body, defaultSource: 'billing.charge-order', position: `#${seq}` });
  }
  protected async sendBack(letter: Letter, source: string, headers: Headers): Promise<void> {
    if (this.refuse) throw new Error('not stored');
    this.steps.push(`send ${letter.seq} to ${source} with ${JSON.stringify(headers)}`);
  }
  protected async remove(_store: string, letter: Letter): Promise<void> {
    this.steps.push(`remove ${letter.seq}`);
    this.held.splice(this.held.indexOf(letter), 1);
  }
  protected async purgeIn(): Promise<number> {
    return this.held.splice(0).length;
  }
}

describe('a dead-letter store that can be read whole and remove one letter', () => {
  it('lists what it holds, reading the id from the envelope headers, and changes nothing', async () => {
    const shelf = new MemoryShelf([failed(1, 'a'), failed(2, 'b')]);
    expect((await shelf.list()).map((letter) => [letter.id, letter.attempts, letter.position])).toEqual([
      ['a', 3, '#1'],
      ['b', 3, '#2'],
    ]);
    expect(shelf.held).toHaveLength(2);
  });

  it('replays one letter: a copy without its failure record to where it failed, and only then removes it', async () => {
    const shelf = new MemoryShelf([failed(1, 'a'), failed(2, 'b')]);
    await shelf.replay('b');
    expect(shelf.steps).toEqual(['send 2 to billing.charge-order with {"message-id":"b"}', 'remove 2']);
    expect(shelf.held.map((letter) => letter.seq)).toEqual([1]);
  });

  it('replays every letter there, each sent back before it is removed', async () => {
    const shelf = new MemoryShelf([failed(1, 'a'), failed(2, 'b')]);
    await expect(shelf.replayAll()).resolves.toBe(2);
    expect(shelf.steps.map((step) => step.split(' ').slice(0, 2).join(' '))).toEqual(['send 1', 'remove 1', 'send 2', 'remove 2']);
  });

  it('keeps a letter whose copy the broker did not take, and refuses an id it does not hold', async () => {
    const shelf = new MemoryShelf([failed(1, 'a')]);
    shelf.refuse = true;
    await expect(shelf.replay('a')).rejects.toThrow('not stored');
    expect(shelf.held).toHaveLength(1);
    await expect(shelf.replay('nobody')).rejects.toBeInstanceOf(DeadLetterNotFound);
  });
});
