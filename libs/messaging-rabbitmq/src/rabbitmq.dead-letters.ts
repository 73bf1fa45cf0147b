import type { ConfirmChannel, Message } from 'amqplib';
import {
  DeadLetterNotFound,
  readFailure,
  readOrigin,
  silentLogger,
  withoutFailure,
  type DeadLetter,
  type DeadLetterCount,
  type DeadLetterStore,
  type Logger,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { copyOptionsOf, headersOf, messageIdOf } from './rabbitmq.message.js';
import { deadLetterQueueName } from './rabbitmq.topology.js';

/**
 * The `<queue>.dlq` of each work queue, as a DeadLetterStore. Looking must not lose or reorder
 * anything, so messages are fetched with `basic.get` and never acked: while the channel is open
 * they are held, and closing it hands every one back to the queue in its old place. That is the
 * whole undo step, and it happens the same way if the tool crashes halfway. (While a listing
 * runs, the held messages are invisible to anyone else looking at the queue.)
 */
export class RabbitMqDeadLetters implements DeadLetterStore {
  private readonly logger: Logger;

  constructor(
    private readonly connection: RabbitMqConnection,
    /** The work queues whose dead letter queues this store covers. */
    private readonly queues: ReadonlyArray<string>,
    options: { readonly logger?: Logger } = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  async list(): Promise<DeadLetter[]> {
    const found: DeadLetter[] = [];
    for (const dlq of await this.existing()) {
      await this.withChannel(async (channel) => {
        for (let message = await channel.get(dlq, { noAck: false }); message; message = await channel.get(dlq, { noAck: false })) {
          found.push(describe(message, dlq));
        }
      });
    }
    return found;
  }

  async replay(id: string): Promise<void> {
    for (const dlq of await this.existing()) {
      if ((await this.replayFrom(dlq, id)) > 0) return;
    }
    throw new DeadLetterNotFound(id);
  }

  async replayAll(): Promise<number> {
    let replayed = 0;
    for (const dlq of await this.existing()) replayed += await this.replayFrom(dlq, 'all');
    return replayed;
  }

  async purge(): Promise<number> {
    let purged = 0;
    for (const dlq of await this.existing()) purged += await this.withChannel(async (channel) => (await channel.purgeQueue(dlq)).messageCount);
    return purged;
  }

  /** Each dead letter queue's message count, as RabbitMQ keeps it: nothing is fetched. */
  async counts(): Promise<DeadLetterCount[]> {
    const counts: DeadLetterCount[] = [];
    for (const dlq of await this.existing()) {
      counts.push({ store: dlq, messages: await this.withChannel(async (channel) => (await channel.checkQueue(dlq)).messageCount) });
    }
    return counts;
  }

  /** The dead letter queues that exist (a consumer that never started has none). */
  private async existing(): Promise<string[]> {
    const found: string[] = [];
    for (const dlq of this.queues.map(deadLetterQueueName)) {
      // A missing queue closes the channel (404), so each check gets its own.
      const exists = await this.withChannel((channel) => channel.checkQueue(dlq)).then(() => true, () => false);
      if (exists) found.push(dlq);
    }
    return found;
  }

  /**
   * Sends dead letters back to the queue they failed on, as they first arrived there: same
   * message id and body, failure headers dropped so they get a full set of attempts. Each one is
   * acked from the dlq only once RabbitMQ confirmed the copy.
   */
  private async replayFrom(dlq: string, which: string | 'all'): Promise<number> {
    return this.withChannel(async (channel) => {
      const sender = new ConfirmedSender(channel, this.logger);
      // Only what is there now: a replayed message that fails again comes back, and must not be replayed again in this run.
      const { messageCount } = await channel.checkQueue(dlq);
      let replayed = 0;
      for (let i = 0; i < messageCount; i++) {
        const message = await channel.get(dlq, { noAck: false });
        if (!message) break;
        // A message that is not the one asked for stays unacked, and goes back in place when the channel closes.
        if (which !== 'all' && messageIdOf(message) !== which) continue;
        const queue = describe(message, dlq).originalSource;
        await sender.send('', queue, message.content, copyOptionsOf(message, withoutFailure(headersOf(message))));
        channel.ack(message);
        replayed += 1;
        this.logger.log(`rabbitmq dead letters: replayed ${messageIdOf(message)} from ${dlq} to ${queue}`);
        if (which !== 'all') break;
      }
      return replayed;
    });
  }

  private async withChannel<T>(work: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn(`rabbitmq dead letters: ${error.message}`));
    try {
      return await work(channel);
    } finally {
      // Hands back every message fetched and not acked.
      await channel.close().catch(() => {});
    }
  }
}

function describe(message: Message, dlq: string): DeadLetter {
  const headers = headersOf(message);
  const record = readFailure(headers);
  const origin = readOrigin(headers);
  return {
    transport: 'rabbitmq',
    store: dlq,
    id: messageIdOf(message),
    type: message.properties.type ? String(message.properties.type) : null,
    attempts: record.attempts ?? 0,
    lastError: record.lastError ?? '',
    firstFailureAt: record.firstFailureAt ?? null,
    lastFailureAt: record.lastFailureAt ?? null,
    // Without the header (a message parked by hand), the queue's name says where it came from.
    originalSource: origin.source ?? dlq.replace(/\.dlq$/, ''),
    consumer: origin.consumer ?? null,
    body: message.content.toString(),
  };
}
