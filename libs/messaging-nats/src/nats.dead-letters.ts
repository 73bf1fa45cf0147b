import {
  deadLetterOf,
  DeadLetterShelf,
  withoutFailure,
  type DeadLetter,
  type DeadLetterCount,
  type DeadLetterScope,
} from '@boxoffice/messaging';
import { toNatsHeaders } from './nats.message.js';
import { readStream, type StreamRecord } from './nats.stream-reader.js';
import { deadLetterStreamOf, unlessMissing, type JetStreamSession } from './nats.streams.js';

/**
 * The `<stream>_dlq` stream of each channel, as a DeadLetterStore. A stream is read without taking anything from it
 * (an ordered consumer) and deletes one message by its sequence number: so `list` changes nothing, and `replay`
 * publishes a copy back to the channel without the failure record, and only then deletes the letter.
 */
export class NatsDeadLetters extends DeadLetterShelf {
  /** Dead-letter stream → the channel whose letters it holds. */
  private readonly channels: Map<string, string>;

  constructor(
    private readonly session: () => JetStreamSession,
    scope: DeadLetterScope,
  ) {
    super();
    this.channels = new Map(scope.map(({ channel }) => [deadLetterStreamOf(channel), channel]));
  }

  counts(): Promise<DeadLetterCount[]> {
    return this.countEach((store) =>
      this.session()
        .jsm.streams.info(store)
        .then((info) => info.state.messages, unlessMissing(0)),
    );
  }

  /** Every one of the scope: one nobody provisioned reads as empty. */
  protected async stores(): Promise<string[]> {
    return [...this.channels.keys()];
  }

  protected async listIn(store: string): Promise<DeadLetter[]> {
    return (await readStream(this.session().connection, store)).map((record) => this.letterOf(store, record));
  }

  protected async replayIn(store: string, which: string | 'all'): Promise<number> {
    const { connection, js, jsm } = this.session();
    let replayed = 0;
    for (const record of await readStream(connection, store)) {
      const letter = this.letterOf(store, record);
      if (which !== 'all' && letter.id !== which) continue;
      await js.publish(letter.originalSource, record.body, { headers: toNatsHeaders(withoutFailure(record.headers)) });
      await jsm.streams.deleteMessage(store, record.sequence, false);
      replayed += 1;
      if (which !== 'all') break;
    }
    return replayed;
  }

  protected async purgeIn(store: string): Promise<number> {
    return this.session()
      .jsm.streams.purge(store)
      .then((purged) => purged.purged, unlessMissing(0));
  }

  private letterOf(store: string, { headers, body, sequence }: StreamRecord): DeadLetter {
    return deadLetterOf({
      transport: 'nats',
      store,
      headers,
      body,
      id: headers['message-id'] ?? null,
      type: headers.type ?? null,
      defaultSource: this.channels.get(store)!,
      position: `#${sequence}`,
    });
  }
}
