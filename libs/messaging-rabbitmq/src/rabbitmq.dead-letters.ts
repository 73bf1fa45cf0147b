import type { ConfirmChannel, Message } from 'amqplib';
import {
  DeadLetterShelf,
  deadLetterOf,
  FailureHeaders,
  withoutFailure,
  type DeadLetter,
  type DeadLetterCount,
  type Headers,
  type Logger,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { copyOptionsOf, headersOf, lastDeathOf, messageIdOf, type BrokerDeath } from './rabbitmq.message.js';
import { deadLetterQueueName } from './rabbitmq.topology.js';

/**
 * The `<queue>.dlq` of each work queue, as libs/messaging's DeadLetterShelf. Looking must not
 * lose or reorder anything, so messages are fetched with `basic.get` and never acked: while the
 * channel is open they are held, and closing it hands every one back to the queue in its old
 * place. That is the whole undo step, and it happens the same way if the tool crashes halfway.
 * (While a listing runs, the held messages are invisible to anyone else looking at the queue.)
 * Besides the copies our consumer parks with their failure record, a dlq holds what RabbitMQ
 * parked itself at a work queue's delivery limit; those are read from the broker's `x-death`.
 */
export class RabbitMqDeadLetters extends DeadLetterShelf {
  constructor(
    private readonly connection: RabbitMqConnection,
    /** The work queues whose dead letter queues this store covers. */
    private readonly queues: ReadonlyArray<string>,
    private readonly logger: Logger,
  ) {
    super();
  }

  /** Each dead letter queue's message count, as RabbitMQ keeps it: nothing is fetched. */
  counts(): Promise<DeadLetterCount[]> {
    return this.countEach((dlq) => this.withChannel(async (channel) => (await channel.checkQueue(dlq)).messageCount));
  }

  protected async stores(): Promise<string[]> {
    const found: string[] = [];
    for (const dlq of this.queues.map(deadLetterQueueName)) {
      // A missing queue closes the channel (404), so each check gets its own.
      const exists = await this.withChannel((channel) => channel.checkQueue(dlq)).then(
        () => true,
        () => false,
      );
      if (exists) found.push(dlq);
    }
    return found;
  }

  protected listIn(dlq: string): Promise<DeadLetter[]> {
    return this.withChannel(async (channel) => {
      const found: DeadLetter[] = [];
      for (let message = await channel.get(dlq, { noAck: false }); message; message = await channel.get(dlq, { noAck: false })) {
        found.push(letterOf(message, dlq));
      }
      return found;
    });
  }

  /**
   * Sends dead letters back to the queue they failed on, as they first arrived there: same
   * message id and body, failure headers dropped so they get a full set of attempts. Each one is
   * acked from the dlq only once RabbitMQ confirmed the copy.
   */
  protected replayIn(dlq: string, which: string | 'all'): Promise<number> {
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
        const queue = letterOf(message, dlq).originalSource;
        await sender.send('', queue, message.content, copyOptionsOf(message, withoutFailure(headersOf(message))));
        channel.ack(message);
        replayed += 1;
        this.logger.log(`rabbitmq dead letters: replayed ${messageIdOf(message)} from ${dlq} to ${queue}`);
        if (which !== 'all') break;
      }
      return replayed;
    });
  }

  protected purgeIn(dlq: string): Promise<number> {
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

function letterOf(message: Message, dlq: string): DeadLetter {
  const death = lastDeathOf(message);
  return deadLetterOf({
    transport: 'rabbitmq',
    store: dlq,
    headers: death ? withBrokerDeath(headersOf(message), death) : headersOf(message),
    body: message.content.toString(),
    id: messageIdOf(message),
    type: message.properties.type ? String(message.properties.type) : null,
    // Without the header (a message parked by hand), the queue's name says where it came from.
    defaultSource: dlq.replace(/\.dlq$/, ''),
  });
}

/**
 * A message RabbitMQ parked itself (a work queue's delivery limit) carries no failure record of
 * ours, or only that of earlier handler failures: no consumer lived to settle it. Its `x-death`
 * says where it failed, why and when, and that is the last word on it. (Copies our consumer
 * makes carry no `x-death`: a message in a dlq with one was put there by the broker.)
 */
function withBrokerDeath(headers: Headers, death: BrokerDeath): Headers {
  const at = death.at ?? headers[FailureHeaders.lastFailureAt];
  return {
    ...headers,
    [FailureHeaders.lastError]: describeDeath(death),
    [FailureHeaders.originalSource]: headers[FailureHeaders.originalSource] ?? death.queue,
    ...(at ? { [FailureHeaders.lastFailureAt]: at, [FailureHeaders.firstFailureAt]: headers[FailureHeaders.firstFailureAt] ?? at } : {}),
  };
}

function describeDeath({ queue, reason }: BrokerDeath): string {
  if (reason === 'delivery_limit') {
    return `delivery_limit: RabbitMQ handed it out from ${queue} more times than the queue's delivery limit, and no consumer settled it (each one holding it died or lost its channel)`;
  }
  return `${reason}: dead-lettered by RabbitMQ from ${queue}`;
}
