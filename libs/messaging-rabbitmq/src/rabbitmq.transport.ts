import type { Channel, ChannelModel } from 'amqplib';
import { ConnectionTransport, type TransportOptions } from '@boxoffice/messaging';
import type { ChannelDepth, ConsumerSpec, DeadLetterScope, RetryPolicy, Transport } from '@boxoffice/messaging';
import { RabbitMqConnection } from './rabbitmq.connection.js';
import { RabbitMqConsumer } from './rabbitmq.consumer.js';
import { RabbitMqDeadLetters } from './rabbitmq.dead-letters.js';
import { RabbitMqPublisher } from './rabbitmq.publisher.js';
import { declareCommandExchange, declareQueueTopology, topologyQueueNames } from './rabbitmq.topology.js';

export interface RabbitMqTransportOptions extends TransportOptions {
  /** amqp://user:password@host:port/vhost */
  readonly url: string;
  /** The connection's name in the management UI: the service. */
  readonly name: string;
  /** The direct exchange commands are published to. */
  readonly exchange: string;
  /** The backoff of the delay queues; the consumer pipeline uses the same policy. */
  readonly retryPolicy: RetryPolicy;
  /**
   * How many times a work queue hands out a message nobody settles (its consumers keep dying)
   * before RabbitMQ parks it in the dead letter queue; `defaultDeliveryLimit` (rabbitmq.topology.ts)
   * when left out. A queue's limit is fixed when it is made: another value is TopologyRefused.
   */
  readonly deliveryLimit?: number;
  /** See RabbitMqPublisherOptions: tracing's way to put each publish under its message's trace. */
  readonly publishUnder?: <T>(traceparent: string | undefined, publish: () => T) => T;
  /** Reconnect backoff's first wait; small in tests. */
  readonly reconnectInitialDelayMs?: number;
}

/**
 * RabbitMQ behind the transport port: a smart broker. Ack means "done, delete it"; the broker
 * tracks each delivery and redelivers what a dead consumer held, up to a delivery limit. Commands
 * reach their quorum queue through one direct exchange; retries wait in delay queues and dead
 * letters in `<queue>.dlq` (rabbitmq.topology.ts).
 */
export class RabbitMqTransport extends ConnectionTransport<ChannelModel, RabbitMqConsumer> implements Transport {
  readonly connection: RabbitMqConnection;
  protected readonly publisher: RabbitMqPublisher;

  constructor(private readonly options: RabbitMqTransportOptions) {
    super('rabbitmq', options);
    this.connection = new RabbitMqConnection({ ...options, initialDelayMs: options.reconnectInitialDelayMs, logger: this.logger });
    this.publisher = new RabbitMqPublisher(this.connection, { ...options, logger: this.logger });
  }

  /**
   * Declares each work queue with its binding, delay queues and dead letter queue, for the
   * service that reads them. Its consumers declare them again on every channel they open.
   */
  async provision(queues: ReadonlyArray<string>): Promise<void> {
    if (queues.length === 0) return;
    await this.withChannel(async (channel) => {
      const { exchange, retryPolicy, deliveryLimit } = this.options;
      for (const queue of queues) await declareQueueTopology(channel, queue, exchange, retryPolicy, { deliveryLimit });
    });
  }

  /**
   * A sender declares the commands exchange, and leaves each queue to the service that reads it.
   * A queue dead-letters, and RabbitMQ lets only an account that may read a dead-lettering queue
   * declare it: a sender that declared its consumer's queue could also take that consumer's
   * messages. So each account holds only what the catalog says its service sends and reads
   * (rabbitmq.permissions.ts). A command sent before its queue was ever declared comes back
   * unroutable and stays in the outbox, tried again with backoff until its consumer has started
   * (and parked after OUTBOX_MAX_ATTEMPTS, as any refusal).
   */
  override async provisionForSending(queues: ReadonlyArray<string>): Promise<void> {
    if (queues.length === 0) return;
    await this.withChannel((channel) => declareCommandExchange(channel, this.options.exchange));
  }

  /**
   * Deletes each work queue with its delay queues and dead letter queue (those of this
   * transport's retry policy), whatever they hold, and then the commands exchange if no queue is
   * bound to it any more: another service's queue may still be. For tests and tools tearing a
   * system down, never the services. Deleting what does not exist is a no-op on RabbitMQ.
   */
  async deprovision(queues: ReadonlyArray<string>): Promise<void> {
    if (queues.length === 0) return;
    await this.withChannel(async (channel) => {
      for (const queue of queues.flatMap((queue) => topologyQueueNames(queue, this.options.retryPolicy))) await channel.deleteQueue(queue);
    });
    // if-unused: RabbitMQ refuses (406, and closes the channel) while a queue is still bound.
    await this.withChannel((channel) => channel.deleteExchange(this.options.exchange, { ifUnused: true })).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 406) throw error;
    });
  }

  consumer(spec: ConsumerSpec): RabbitMqConsumer {
    return this.track(new RabbitMqConsumer(this.connection, spec, { ...this.options, logger: this.logger }));
  }

  deadLetters(scope: DeadLetterScope): RabbitMqDeadLetters {
    return new RabbitMqDeadLetters(
      this.connection,
      scope.map(({ channel }) => channel),
      this.logger,
    );
  }

  async health(): Promise<void> {
    await this.withChannel(async () => {});
  }

  /** A passive declare, which changes nothing; a queue nobody declared yet reads as empty, with no consumers. */
  async depth(queue: string, consumer: string): Promise<ChannelDepth> {
    const counts = await this.withChannel((channel) => channel.checkQueue(queue).catch(() => ({ messageCount: 0, consumerCount: 0 })));
    return { channel: queue, consumer, waiting: counts.messageCount, consumers: counts.consumerCount };
  }

  /** A channel of its own for `work`: a broker error (a 404, a 406) closes just that one. */
  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await this.connection.createChannel();
    channel.on('error', () => {}); // a broker error arrives here as well as in the rejected promise
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  }
}
