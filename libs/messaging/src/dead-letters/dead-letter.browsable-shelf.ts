import { withoutFailure, type Headers } from '../failure.headers.js';
import type { DeadLetter } from './dead-letter.js';
import { DeadLetterShelf } from './dead-letter.shelf.js';

/**
 * A DeadLetterShelf for a broker whose dead-letter store can be read whole without taking
 * anything from it, and can remove one letter from where it sits (a JetStream stream, by sequence
 * number). `list` reads; `replay` reads, sends each letter asked for back to where it failed with
 * its failure record dropped, and removes it only once the broker took that copy: a crash between
 * the two replays it twice, which the inbox absorbs. A broker supplies the four steps below, with
 * `stores`, `purgeIn` and (if it counts cheaply) `counts`.
 */
export abstract class BrowsableShelf<R extends { readonly headers: Headers }> extends DeadLetterShelf {
  /** What one store holds now, oldest first, in the broker's terms; nothing is taken away. */
  protected abstract read(store: string): Promise<R[]>;
  /** One letter as the dlq tool reads it: `deadLetterOf` of the record. */
  protected abstract letterOf(store: string, record: R): DeadLetter;
  /** Publishes a copy of the letter to `source` with these headers; resolves once the broker took it. */
  protected abstract sendBack(record: R, source: string, headers: Headers): Promise<void>;
  /** Removes the letter from its store. */
  protected abstract remove(store: string, record: R): Promise<void>;

  protected async listIn(store: string): Promise<DeadLetter[]> {
    return (await this.read(store)).map((record) => this.letterOf(store, record));
  }

  /** What the store holds as the replay begins: a letter that fails again meanwhile waits for the next run. */
  protected async replayIn(store: string, which: string | 'all'): Promise<number> {
    let replayed = 0;
    for (const record of await this.read(store)) {
      const letter = this.letterOf(store, record);
      if (which !== 'all' && letter.id !== which) continue;
      await this.sendBack(record, letter.originalSource, withoutFailure(record.headers));
      await this.remove(store, record);
      replayed += 1;
      if (which !== 'all') break;
    }
    return replayed;
  }
}
