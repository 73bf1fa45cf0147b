import type { ConfirmChannel } from 'amqplib';
import {
  describeDestination,
  silentLogger,
  type Destination,
  type Logger,
  type MessagePublisher,
  type OutgoingMessage,
  type RabbitMqDestination,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { publishOptionsFor } from './rabbitmq.message.js';
import { declareCommandExchange } from './rabbitmq.topology.js';

export interface RabbitMqPublisherOptions {
  readonly logger?: Logger;
}

interface OpenChannel {
  readonly channel: ConfirmChannel;
  readonly sender: ConfirmedSender;
  /** Exchanges declared on this channel; a new channel declares again, in case one was deleted. */
  readonly exchanges: Set<string>;
}

/**
 * Publishes commands to RabbitMQ for the outbox relay. A batch is written out in one go and then
 * its confirms are awaited together: one round trip per batch, not per message, which is what
 * keeps the relay close to raw amqplib throughput. `publish` resolves only when RabbitMQ confirmed
 * every message, and rejects if any was nacked, returned as unroutable, or lost with the channel;
 * the relay then keeps the whole batch and publishes it again (consumers' inboxes drop the copies).
 */
export class RabbitMqPublisher implements MessagePublisher {
  readonly transport = 'rabbitmq' as const;
  private opening: Promise<OpenChannel> | null = null;
  private readonly logger: Logger;

  constructor(
    private readonly connection: RabbitMqConnection,
    options: RabbitMqPublisherOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  async publish(messages: ReadonlyArray<OutgoingMessage>): Promise<void> {
    if (messages.length === 0) return;
    const destinations = messages.map(({ destination }) => rabbitMqDestination(destination));
    const open = await this.open();
    for (const { exchange } of destinations) {
      if (open.exchanges.has(exchange)) continue;
      await declareCommandExchange(open.channel, exchange);
      open.exchanges.add(exchange);
    }
    const confirms = messages.map(({ envelope, headers }, i) =>
      open.sender.send(
        destinations[i].exchange,
        destinations[i].routingKey,
        Buffer.from(JSON.stringify(envelope)),
        publishOptionsFor(envelope, headers),
      ),
    );
    await Promise.all(confirms);
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = null;
    const open = await opening?.catch(() => null);
    await open?.sender.close();
  }

  /** The confirm channel, opened on first use and again after it (or the connection) was lost. */
  private async open(): Promise<OpenChannel> {
    const opening = this.opening;
    if (opening) {
      const current = await opening.catch(() => null);
      if (current?.sender.isOpen) return current;
      if (this.opening !== opening) return this.open(); // another publish is reopening it already
    }
    this.opening = this.connection.createConfirmChannel().then((channel) => {
      this.logger.log('rabbitmq publisher: confirm channel open');
      return { channel, sender: new ConfirmedSender(channel, this.logger), exchanges: new Set<string>() };
    });
    return this.opening;
  }
}

function rabbitMqDestination(destination: Destination): RabbitMqDestination {
  if (destination.transport !== 'rabbitmq') throw new Error(`RabbitMqPublisher cannot publish to ${describeDestination(destination)}`);
  return destination;
}
