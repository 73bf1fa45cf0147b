import {
  catalog,
  entryOf,
  keyOf,
  type CatalogEntry,
  type MessageDefinition,
  type MessageKind,
  type ServiceName,
} from '@boxoffice/contracts';

/** A transport's name as configuration spells it: `rabbitmq`, `kafka`, ... */
export type TransportName = string;

/** Where one message goes: the transport, the queue or topic, and the key that orders it there. */
export interface Destination {
  readonly transport: TransportName;
  readonly channel: string;
  /** The partition key: messages with the same key on the same channel keep their order. */
  readonly key: string;
}

/** Which transport carries each kind of message: the one choice a deployment makes. */
export type TransportChoice = Readonly<Record<MessageKind, TransportName>>;

/** Today's: commands through RabbitMQ queues, events through Kafka topics. */
export const defaultTransports: TransportChoice = { command: 'rabbitmq', event: 'kafka' };

export function describeDestination(destination: Destination): string {
  return `${destination.transport}:${destination.channel}[${destination.key}]`;
}

/** What one service reads from one transport: channels and the messages expected on them. */
export interface ConsumerSource {
  readonly transport: TransportName;
  readonly channels: ReadonlyArray<string>;
  readonly messages: ReadonlyArray<MessageDefinition>;
}

/**
 * The catalog read for one deployment: where a message goes, and what a service consumes from
 * where. Nothing else in the system states a route.
 */
export class Routing {
  constructor(
    readonly transports: TransportChoice = defaultTransports,
    readonly entries: ReadonlyArray<CatalogEntry> = catalog,
  ) {}

  transportOf(message: Pick<MessageDefinition, 'kind'>): TransportName {
    return this.transports[message.kind];
  }

  destinationOf(message: MessageDefinition, payload: unknown): Destination {
    const line = entryOf(message, this.entries);
    return { transport: this.transportOf(message), channel: line.channel, key: keyOf(line, payload) };
  }

  /** The service's sources, one per transport it consumes from. */
  sourcesOf(service: ServiceName): ConsumerSource[] {
    const byTransport = new Map<TransportName, { channels: Set<string>; messages: MessageDefinition[] }>();
    for (const line of this.entries.filter((e) => e.consumers.includes(service))) {
      const transport = this.transportOf(line.message);
      const source = byTransport.get(transport) ?? { channels: new Set<string>(), messages: [] };
      source.channels.add(line.channel);
      source.messages.push(line.message);
      byTransport.set(transport, source);
    }
    return [...byTransport].map(([transport, { channels, messages }]) => ({ transport, channels: [...channels], messages }));
  }

  /**
   * Refuses, naming the difference, a service whose handlers are not exactly what the catalog
   * routes to it: a message routed to it with no handler would be dead-lettered as poison, and a
   * handler the catalog sends nothing to would never run. Both are mistakes to see at start.
   */
  assertHandles(service: ServiceName, handled: ReadonlyArray<MessageDefinition>): void {
    const routed = this.entries.filter((e) => e.consumers.includes(service)).map((e) => e.message);
    const name = (message: MessageDefinition) => `${message.type} v${message.version}`;
    const unhandled = routed.filter((message) => !handled.includes(message)).map(name);
    const unrouted = handled.filter((message) => !routed.includes(message)).map(name);
    const problems = [
      ...(unhandled.length > 0 ? [`the catalog routes ${unhandled.join(', ')} to ${service}, which has no handler for it`] : []),
      ...(unrouted.length > 0 ? [`${service} has a handler for ${unrouted.join(', ')}, which the catalog does not route to it`] : []),
    ];
    if (problems.length > 0) throw new Error(`${problems.join('; ')} (see libs/contracts' catalog and ${service}.handlers.ts)`);
  }

  /** Every transport the service sends to or receives from. */
  transportsOf(service: ServiceName): TransportName[] {
    const used = this.entries.filter((e) => e.publisher === service || e.consumers.includes(service));
    return [...new Set(used.map((e) => this.transportOf(e.message)))];
  }

  /** The channels a transport carries, with the services that read each: for provisioning and dead-letter tools. */
  channelsOn(transport: TransportName): Array<{ readonly channel: string; readonly kind: MessageKind; readonly consumers: ServiceName[] }> {
    const channels = new Map<string, { channel: string; kind: MessageKind; consumers: Set<ServiceName> }>();
    for (const line of this.entries.filter((e) => this.transportOf(e.message) === transport)) {
      const channel = channels.get(line.channel) ?? { channel: line.channel, kind: line.message.kind, consumers: new Set<ServiceName>() };
      for (const consumer of line.consumers) channel.consumers.add(consumer);
      channels.set(line.channel, channel);
    }
    return [...channels.values()].map((c) => ({ ...c, consumers: [...c.consumers] }));
  }
}
