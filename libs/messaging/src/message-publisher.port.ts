import type { Envelope } from '@boxoffice/contracts';
import type { Destination } from './destination.js';

export interface OutgoingMessage {
  readonly envelope: Envelope;
  readonly destination: Destination;
  /** Broker headers to add on top of those derived from the envelope (used by dead-letter replay). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Publishes messages to one broker. `publish` resolves only once the broker has taken
 * responsibility for every message (RabbitMQ publisher confirms, Kafka acks=all), and rejects
 * if any was not taken: the caller (the outbox relay) then keeps them and tries again.
 */
export interface MessagePublisher {
  readonly transport: Destination['transport'];
  publish(messages: ReadonlyArray<OutgoingMessage>): Promise<void>;
}
