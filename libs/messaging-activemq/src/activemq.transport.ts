import { ConnectionTransport, type TransportOptions } from '@boxoffice/messaging';
import type { ChannelDepth, ConsumerSpec, DeadLetterScope, RetryPolicy, Transport } from '@boxoffice/messaging';
import type { Connection } from 'rhea-promise';
import { ActiveMqConnection } from './activemq.connection.js';
import { ActiveMqConsumer } from './activemq.consumer.js';
import { ActiveMqDeadLetters } from './activemq.dead-letters.js';
import { ActiveMqManagement, ManagementError } from './activemq.management.js';
import { ActiveMqPublisher } from './activemq.publisher.js';
import { addressSettingsFor, deadLetterQueueName, queueConfigurationFor } from './activemq.topology.js';

export interface ActiveMqTransportOptions extends TransportOptions {
  /** amqp://user:password@host:port, ACTIVEMQ_URL (default amqp://boxoffice:boxoffice@127.0.0.1:61617) */
  readonly url: string;
  /** The connection's container id prefix in Artemis' console: the service. */
  readonly name: string;
  /** The broker's redelivery delays and attempts for every queue this transport provisions; the consumer pipeline uses the same policy. */
  readonly retryPolicy: RetryPolicy;
  /** Reconnect backoff's first wait; small in tests. */
  readonly reconnectInitialDelayMs?: number;
}

/**
 * ActiveMQ Artemis behind the transport port, over AMQP 1.0: a smart broker. Accept means "done,
 * delete it"; the broker tracks each delivery, counts failed ones, redelivers after the queue's
 * redelivery delay and dead-letters after its attempts (address settings, activemq.topology.ts).
 * Commands go to one ANYCAST queue per channel, whose consumers compete.
 */
export class ActiveMqTransport extends ConnectionTransport<Connection, ActiveMqConsumer> implements Transport {
  readonly connection: ActiveMqConnection;
  readonly management: ActiveMqManagement;
  protected readonly publisher: ActiveMqPublisher;

  constructor(private readonly options: ActiveMqTransportOptions) {
    super('activemq', options);
    this.connection = new ActiveMqConnection({ ...options, initialDelayMs: options.reconnectInitialDelayMs, logger: this.logger });
    this.management = new ActiveMqManagement(this.connection, options.name);
    this.publisher = new ActiveMqPublisher(this.connection);
  }

  /**
   * For each work queue: its address settings (the retry policy, its dead letter address), the
   * queue and its `.dlq`, ANYCAST and durable. Idempotent: settings are replaced, an existing
   * queue is left as it is. The sending service provisions too, so a command sent before its
   * consumer ever started waits in its queue.
   */
  async provision(queues: ReadonlyArray<string>): Promise<void> {
    for (const queue of queues) {
      await this.management.call('broker', 'addAddressSettings', [
        queue,
        JSON.stringify(addressSettingsFor(queue, this.options.retryPolicy)),
      ]);
      for (const name of [queue, deadLetterQueueName(queue)]) await this.createQueue(name);
    }
  }

  consumer(spec: ConsumerSpec): ActiveMqConsumer {
    const provision = (queues: ReadonlyArray<string>) => this.provision(queues);
    return this.track(new ActiveMqConsumer(this.connection, spec, { publisher: this.publisher, provision, logger: this.logger }));
  }

  deadLetters(scope: DeadLetterScope): ActiveMqDeadLetters {
    const queues = scope.map(({ channel }) => channel);
    return new ActiveMqDeadLetters(this.connection, this.management, this.publisher, queues, this.logger);
  }

  /** A management round trip: the broker answers, and this connection may ask it things. */
  async health(): Promise<void> {
    await this.management.call('broker', 'getVersion');
  }

  /**
   * Messages waiting on the queue (its message count less those out on delivery, so scheduled
   * redeliveries count as waiting) and its consumers (every lane of every instance). A queue that
   * does not exist yet reads as empty, with no consumers.
   */
  async depth(queue: string, consumer: string): Promise<ChannelDepth> {
    try {
      const resource = `queue.${queue}`;
      const messages = await this.management.call<number>(resource, 'getMessageCount');
      const delivering = await this.management.call<number>(resource, 'getDeliveringCount');
      const consumers = await this.management.call<number>(resource, 'getConsumerCount');
      return { channel: queue, consumer, waiting: Math.max(0, messages - delivering), consumers };
    } catch (error) {
      if (!(error instanceof ManagementError)) throw error;
      return { channel: queue, consumer, waiting: 0, consumers: 0 };
    }
  }

  /**
   * Deletes each work queue and its dead letter queue, whatever they hold and whoever consumes
   * them, with their addresses and their address settings: for tests and tools tearing a system
   * down, never the services. A queue that does not exist is skipped.
   */
  async deprovision(queues: ReadonlyArray<string>): Promise<void> {
    for (const queue of queues) {
      for (const name of [queue, deadLetterQueueName(queue)]) {
        await this.management.call('broker', 'destroyQueue', [name, true, true]).catch((error: unknown) => {
          if (!(error instanceof ManagementError)) throw error;
        });
      }
      await this.management.call('broker', 'removeAddressSettings', [queue]);
    }
  }

  private async createQueue(name: string): Promise<void> {
    try {
      await this.management.call('broker', 'createQueue', [JSON.stringify(queueConfigurationFor(name))]);
    } catch (error) {
      // AMQ229019: the queue exists already, which is what we want.
      if (!(error instanceof ManagementError && error.answer.startsWith('AMQ229019'))) throw error;
    }
  }
}
