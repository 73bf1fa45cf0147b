import { BrowsableShelf, deadLetterOf } from '@boxoffice/messaging';
import type { DeadLetter, DeadLetterCount, DeadLetterScope, Headers } from '@boxoffice/messaging';
import { readStream, type StreamRecord } from './nats.stream-reader.js';
import { deadLetterStreamOf, toNatsHeaders, unlessMissing, type JetStreamSession } from './nats.streams.js';

/**
 * The `<stream>_dlq` stream of each channel, as a BrowsableShelf: a stream is read without taking anything from it (an
 * ordered consumer) and deletes one message by its sequence number, so `list` changes nothing, and `replay` publishes a
 * copy back to the channel without the failure record, and only then deletes the letter.
 */
export class NatsDeadLetters extends BrowsableShelf<StreamRecord> {
  /** Dead-letter stream → the channel whose letters it holds. */
  private readonly channels: Map<string, string>;

  constructor(
    private readonly session: () => JetStreamSession,
    scope: DeadLetterScope,
  ) {
    super();
    this.channels = new Map(scope.map(({ channel }) => [deadLetterStreamOf(channel), channel]));
  }

  /**
   * From each stream's info, read at once: how many letters it holds, when the oldest was stored
   * (JetStream keeps the first message's time: a replayed letter is deleted, so the first is one
   * waiting), and its `max_age` (none on a dead-letter stream: letters wait for a human).
   */
  async counts(): Promise<DeadLetterCount[]> {
    const counts: DeadLetterCount[] = [];
    for (const store of await this.stores()) {
      const info = await this.session().jsm.streams.info(store).catch(unlessMissing(null));
      if (!info) {
        counts.push({ store, messages: 0, oldestAt: null });
        continue;
      }
      const { messages, first_ts: firstAt } = info.state;
      counts.push({
        store,
        messages,
        oldestAt: messages === 0 ? null : Date.parse(firstAt),
        // In nanoseconds; 0 keeps messages for ever.
        retentionMs: info.config.max_age > 0 ? info.config.max_age / 1e6 : null,
      });
    }
    return counts;
  }

  /** Every one of the scope: one nobody provisioned reads as empty. */
  protected async stores(): Promise<string[]> {
    return [...this.channels.keys()];
  }

  protected read(store: string): Promise<StreamRecord[]> {
    return readStream(this.session().connection, store);
  }

  protected letterOf(store: string, { headers, body, sequence }: StreamRecord): DeadLetter {
    return deadLetterOf({ transport: 'nats', store, headers, body, defaultSource: this.channels.get(store)!, position: `#${sequence}` });
  }

  protected async sendBack({ body }: StreamRecord, source: string, headers: Headers): Promise<void> {
    await this.session().js.publish(source, body, { headers: toNatsHeaders(headers) });
  }

  protected async remove(store: string, { sequence }: StreamRecord): Promise<void> {
    await this.session().jsm.streams.deleteMessage(store, sequence, false);
  }

  protected async purgeIn(store: string): Promise<number> {
    return this.session()
      .jsm.streams.purge(store)
      .then((purged) => purged.purged, unlessMissing(0));
  }
}
