import type { ConfirmChannel } from 'amqplib';
import {
  allConfirmed,
  describeDestination,
  sendEach,
  silentLogger,
  type Logger,
  type OutgoingMessage,
  type PublishOptions,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { publishOptionsFor } from './rabbitmq.message.js';
import { declareCommandExchange } from './rabbitmq.topology.js';

export interface RabbitMqPublisherOptions {
  /** The direct exchange commands go through; the routing key is the destination queue. */
  readonly exchange: string;
  /**
   * Runs each message's publish under the trace context its `traceparent` header names, so that
   * amqplib's instrumentation starts its publish span (and writes it into the headers) there,
   * not under the relay's batch. The service's tracing supplies it (libs/platform passes
   * libs/telemetry's `inTraceContextOf`); without tracing a publish just runs.
   */
  readonly publishUnder?: <T>(traceparent: string | undefined, publish: () => T) => T;
  readonly logger?: Logger;
}

interface OpenChannel {
  readonly channel: ConfirmChannel;
  readonly sender: ConfirmedSender;
  /** Whether the exchange is declared on this channel; a new channel declares again, in case it was deleted. */
  exchangeDeclared: boolean;
}

/**
 * Publishes commands to RabbitMQ for the outbox relay. A batch is written out in one go and then
 * its confirms are awaited together: one round trip per batch, not per message, which is what
 * keeps the relay close to raw amqplib throughput. `publish` resolves only when RabbitMQ confirmed
 * every message, and rejects with PublishIncomplete naming those nacked, returned as unroutable,
 * or lost with the channel; the relay marks the others published and tries only those again.
 * Once the caller's signal is aborted (the relay's deadline), the channel is given up: its
 * waiting confirms reject and the next publish opens a new one (ConfirmedSender.abandon).
 */
export class RabbitMqPublisher {
  private opening: Promise<OpenChannel> | null = null;
  /** The channel `opening` gave, once it has. */
  private opened: OpenChannel | null = null;
  private readonly logger: Logger;

  constructor(
    private readonly connection: RabbitMqConnection,
    private readonly options: RabbitMqPublisherOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  async publish(messages: ReadonlyArray<OutgoingMessage>, { signal }: PublishOptions = {}): Promise<void> {
    if (messages.length === 0) return;
    const wrong = messages.find(({ destination }) => destination.transport !== 'rabbitmq');
    if (wrong) throw new Error(`RabbitMqPublisher cannot publish to ${describeDestination(wrong.destination)}`);
    // A channel still opening is waited for, not opened again, however many publishes time out meanwhile.
    const open = await this.open();
    signal?.throwIfAborted();
    if (!open.exchangeDeclared) {
      await declareCommandExchange(open.channel, this.options.exchange);
      open.exchangeDeclared = true;
    }
    signal?.throwIfAborted();
    const abandon = () => {
      this.logger.warn('rabbitmq publisher: confirms overdue, giving the confirm channel up');
      open.sender.abandon(new Error('no confirm from RabbitMQ before the publish deadline'));
    };
    signal?.addEventListener('abort', abandon, { once: true });
    try {
      const confirms = sendEach(messages, ({ envelope, headers, destination }) => {
        const options = publishOptionsFor(envelope, headers);
        const send = () => open.sender.send(this.options.exchange, destination.channel, Buffer.from(JSON.stringify(envelope)), options);
        return this.options.publishUnder ? this.options.publishUnder(options.headers?.traceparent as string | undefined, send) : send();
      });
      await allConfirmed(confirms, 'rabbitmq publish');
    } finally {
      signal?.removeEventListener('abort', abandon);
    }
  }

  /**
   * Closes the channel it has. One still opening is not waited for: under a memory alarm it opens
   * only when the alarm clears, and closing the connection, which comes next, ends it.
   */
  async close(): Promise<void> {
    const open = this.opened;
    this.opening = null;
    this.opened = null;
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
    const next = this.connection.createConfirmChannel().then((channel) => {
      this.logger.log('rabbitmq publisher: confirm channel open');
      const open = { channel, sender: new ConfirmedSender(channel, this.logger), exchangeDeclared: false };
      if (this.opening === next) this.opened = open;
      return open;
    });
    this.opening = next;
    return next;
  }
}
