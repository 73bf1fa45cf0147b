import type { OutgoingMessage, PublishOptions, TransportConsumer } from '../transport.port.js';
import { BrokerTransport } from './broker.transport.js';
import type { HealingConnection } from './healing.connection.js';

/** What publishes on a transport's connection: the port's `publish`, and a `close` of what it opened there (a channel, links). */
export interface ConnectionPublisher {
  publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void>;
  close(): Promise<void>;
}

/**
 * A transport on one HealingConnection (RabbitMQ's, Artemis'), with a publisher on it: `connect`
 * is the connection's (tried with backoff until the broker answers), `publish` the publisher's,
 * and `close` abandons the consumers not stopped by then, closes the publisher and then the
 * connection, and the broker takes back whatever was unsettled. The adapter makes the two, and
 * says the rest of the port in its broker's terms.
 */
export abstract class ConnectionTransport<Client, C extends TransportConsumer & { abandon(): void }> extends BrokerTransport<C> {
  abstract readonly connection: HealingConnection<Client>;
  protected abstract readonly publisher: ConnectionPublisher;

  override connect(): Promise<void> {
    return this.connection.connect();
  }

  publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void> {
    return this.publisher.publish(messages, options);
  }

  async close(): Promise<void> {
    await this.leaveConsumers((consumer) => consumer.abandon());
    await this.publisher.close();
    await this.connection.close();
  }
}
