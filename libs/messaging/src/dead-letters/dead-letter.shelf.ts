import { EnvelopeHeaders } from '../envelope.headers.js';
import { readFailure, readOrigin, type Headers } from '../failure.headers.js';
import { DeadLetterNotFound, type DeadLetter, type DeadLetterCount, type DeadLetterStore } from './dead-letter.js';

/** A parked message as a broker holds it, before it is read as a DeadLetter. */
export interface ParkedMessage {
  readonly transport: string;
  readonly store: string;
  readonly headers: Headers;
  readonly body: string;
  /** Where the broker keeps them elsewhere (an AMQP property, say); left out, the envelope headers say, or null. */
  readonly id?: string | null;
  readonly type?: string | null;
  /** Where it failed when its headers do not say (a message parked by hand): read from the store's name. */
  readonly defaultSource: string;
  readonly position?: string;
}

/** The one reading of a failure record as a DeadLetter, on every transport. */
export function deadLetterOf(parked: ParkedMessage): DeadLetter {
  const record = readFailure(parked.headers);
  const origin = readOrigin(parked.headers);
  return {
    transport: parked.transport,
    store: parked.store,
    id: parked.id !== undefined ? parked.id : (parked.headers[EnvelopeHeaders.messageId] ?? null),
    type: parked.type !== undefined ? parked.type : (parked.headers[EnvelopeHeaders.type] ?? null),
    attempts: record.attempts ?? 0,
    lastError: record.lastError ?? '',
    firstFailureAt: record.firstFailureAt ?? null,
    lastFailureAt: record.lastFailureAt ?? null,
    originalSource: origin.source ?? parked.defaultSource,
    consumer: origin.consumer ?? null,
    body: parked.body,
    ...(parked.position !== undefined ? { position: parked.position } : {}),
  };
}

/**
 * A DeadLetterStore built on a broker's few primitives, so `list`, `replay`, `replayAll` and
 * `purge` mean the same on every transport (see DeadLetterStore). A broker supplies: which of
 * its dead letter stores exist, what one holds, how to send back and then remove what it holds,
 * and how to empty one.
 */
export abstract class DeadLetterShelf implements DeadLetterStore {
  /** The dead letter queues or topics of the scope that exist (a consumer that never started has none). */
  protected abstract stores(): Promise<string[]>;
  /** What one store holds, changing nothing. */
  protected abstract listIn(store: string): Promise<DeadLetter[]>;
  /**
   * Sends the letter with this id (or every letter there now, for 'all') back to where it failed,
   * failure record dropped, and only then removes it from the store; returns how many.
   */
  protected abstract replayIn(store: string, which: string | 'all'): Promise<number>;
  /** Empties one store; returns how many it held. */
  protected abstract purgeIn(store: string): Promise<number>;

  async list(): Promise<DeadLetter[]> {
    const found: DeadLetter[] = [];
    for (const store of await this.stores()) found.push(...(await this.listIn(store)));
    return found;
  }

  async replay(id: string): Promise<void> {
    for (const store of await this.stores()) {
      if ((await this.replayIn(store, id)) > 0) return;
    }
    throw new DeadLetterNotFound(id);
  }

  async replayAll(): Promise<number> {
    let replayed = 0;
    for (const store of await this.stores()) replayed += await this.replayIn(store, 'all');
    return replayed;
  }

  async purge(): Promise<number> {
    let purged = 0;
    for (const store of await this.stores()) purged += await this.purgeIn(store);
    return purged;
  }

  /** For a broker that counts a store cheaply: `counts()` is then `this.countEach(...)`. */
  protected async countEach(count: (store: string) => Promise<number>): Promise<DeadLetterCount[]> {
    const counts: DeadLetterCount[] = [];
    for (const store of await this.stores()) counts.push({ store, messages: await count(store) });
    return counts;
  }
}
