import type { ConfirmChannel, Message } from 'amqplib';
import { DeadLetterHeaders, silentLogger, type Logger } from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { copyOptionsOf, readFailureRecord, withoutFailureHeaders } from './rabbitmq.message.js';
import { deadLetterQueueName } from './rabbitmq.topology.js';

/** A parked message as the dlq tool shows it. */
export interface DeadLetter {
  readonly id: string | null;
  readonly type: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly firstFailureAt: string | null;
  readonly lastFailureAt: string | null;
  /** The queue it failed on, where replay sends it back. */
  readonly originalSource: string;
  readonly consumer: string | null;
  /** The message as it was received, for a human to read. */
  readonly body: string;
}

export interface DeadLetterQueueDepth {
  readonly queue: string;
  readonly dlq: string;
  /** null when the dead letter queue does not exist (its consumer never started). */
  readonly messages: number | null;
}

export interface RabbitMqDeadLettersOptions {
  readonly logger?: Logger;
}

/**
 * What the dlq tool does with `<queue>.dlq`: look, replay, purge. Looking must not lose or
 * reorder anything, so messages are fetched with `basic.get` and never acked: while the channel
 * is open they are held, and closing it hands every one back to the queue in its old place. That
 * is the whole undo step, and it happens the same way if the tool crashes halfway. (While a
 * listing runs, the held messages are invisible to anyone else looking at the queue.)
 */
export class RabbitMqDeadLetters {
  private readonly logger: Logger;

  constructor(
    private readonly connection: RabbitMqConnection,
    options: RabbitMqDeadLettersOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Every message in a dead letter queue (up to `limit`), left where it was. */
  async list(dlq: string, { limit = 1_000 }: { limit?: number } = {}): Promise<DeadLetter[]> {
    return this.withChannel(async (channel) => {
      const found: DeadLetter[] = [];
      while (found.length < limit) {
        const message = await channel.get(dlq, { noAck: false });
        if (!message) break;
        found.push(describeDeadLetter(message, dlq));
      }
      return found;
    });
  }

  /** The depth of each queue's dead letter queue. */
  async listQueues(queues: ReadonlyArray<string>): Promise<DeadLetterQueueDepth[]> {
    const depths: DeadLetterQueueDepth[] = [];
    for (const queue of queues) {
      const dlq = deadLetterQueueName(queue);
      // A missing queue closes the channel (404), so each check gets its own.
      const messages = await this.withChannel(async (channel) => (await channel.checkQueue(dlq)).messageCount).catch(() => null);
      depths.push({ queue, dlq, messages });
    }
    return depths;
  }

  /**
   * Sends dead letters back to the queue they failed on, as they first arrived there: same
   * message id and body, failure headers dropped so they get a full set of attempts. Each one is
   * acked from the dlq only once RabbitMQ confirmed the copy, so a failure midway loses nothing
   * (and at worst replays one message twice, which the inbox absorbs). Returns how many it replayed.
   */
  async replay(dlq: string, which: string | 'all'): Promise<number> {
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
        const queue = describeDeadLetter(message, dlq).originalSource;
        await sender.send('', queue, message.content, copyOptionsOf(message, withoutFailureHeaders(message.properties.headers)));
        channel.ack(message);
        replayed += 1;
        this.logger.log(`rabbitmq dead letters: replayed ${messageIdOf(message)} from ${dlq} to ${queue}`);
        if (which !== 'all') break;
      }
      return replayed;
    });
  }

  /** Deletes every message in a dead letter queue; returns how many. */
  async purge(dlq: string): Promise<number> {
    return this.withChannel(async (channel) => (await channel.purgeQueue(dlq)).messageCount);
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

function describeDeadLetter(message: Message, dlq: string): DeadLetter {
  const headers = message.properties.headers ?? {};
  const record = readFailureRecord(headers);
  const originalSource = headers[DeadLetterHeaders.originalSource];
  const consumer = headers[DeadLetterHeaders.consumer];
  return {
    id: messageIdOf(message),
    type: message.properties.type ?? null,
    attempts: record.attempts ?? 0,
    lastError: record.lastError ?? null,
    firstFailureAt: record.firstFailureAt ?? null,
    lastFailureAt: record.lastFailureAt ?? null,
    // Without the header (a message parked by hand), the queue's name says where it came from.
    originalSource: typeof originalSource === 'string' && originalSource ? originalSource : dlq.replace(/\.dlq$/, ''),
    consumer: typeof consumer === 'string' ? consumer : null,
    body: message.content.toString(),
  };
}

/** The AMQP message id, or, for a message someone published without one, its envelope's id. */
function messageIdOf(message: Message): string | null {
  if (message.properties.messageId) return message.properties.messageId;
  try {
    const id = (JSON.parse(message.content.toString()) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}
