import { routeOf, type MessageDefinition } from '@boxoffice/contracts';

/**
 * Where a message goes. The rule of the system: commands go to a RabbitMQ exchange and land in
 * exactly one queue; events go to a Kafka topic and every consumer group gets a copy.
 */
export type Destination = RabbitMqDestination | KafkaDestination;

export interface RabbitMqDestination {
  readonly transport: 'rabbitmq';
  readonly exchange: string;
  readonly routingKey: string;
}

export interface KafkaDestination {
  readonly transport: 'kafka';
  readonly topic: string;
  /** The partition key: messages with the same key keep their order. */
  readonly key: string;
}

export function describeDestination(destination: Destination): string {
  return destination.transport === 'rabbitmq'
    ? `rabbitmq:${destination.exchange}/${destination.routingKey}`
    : `kafka:${destination.topic}[${destination.key}]`;
}

/** Where the catalog says a message goes; `key` is its partition key on Kafka (ignored for queues). */
export function destinationOf(message: MessageDefinition, key: string): Destination {
  const route = routeOf(message);
  return route.transport === 'rabbitmq'
    ? { transport: 'rabbitmq', exchange: route.exchange, routingKey: route.queue }
    : { transport: 'kafka', topic: route.topic, key };
}
