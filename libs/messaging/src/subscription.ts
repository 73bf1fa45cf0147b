import type { MessageDefinition } from '@boxoffice/contracts';
import type { MessageHandler } from './message-handler.js';

/** Where a subscription reads from. */
export type Source = RabbitMqSource | KafkaSource;

export interface RabbitMqSource {
  readonly transport: 'rabbitmq';
  /** The work queue; its retry queues and `<queue>.dlq` are derived from this name. */
  readonly queue: string;
  /** Which exchange and routing keys feed the queue. */
  readonly bindings: ReadonlyArray<{ readonly exchange: string; readonly routingKey: string }>;
}

export interface KafkaSource {
  readonly transport: 'kafka';
  readonly topic: string;
}

/** One line of a service's message surface: consume these messages from there with that handler. */
export interface Subscription {
  /** The consumer's name, used as the inbox key and in dead-letter headers (e.g. `billing`). */
  readonly consumer: string;
  readonly source: Source;
  /** The messages this subscription accepts; anything else on the source is poison. */
  readonly messages: ReadonlyArray<MessageDefinition>;
  readonly handler: MessageHandler;
}
