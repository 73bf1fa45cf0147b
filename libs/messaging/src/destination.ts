import {
  catalog,
  commandExchange,
  entryOf,
  keyOf,
  type CatalogEntry,
  type MessageDefinition,
  type MessageKind,
  type ServiceName,
} from '@boxoffice/contracts';
import type { DeadLetterScope } from './transport.port.js';

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

export interface RoutingOptions {
  /** Which transport carries each kind of message (COMMAND_TRANSPORT, EVENT_TRANSPORT); `defaultTransports` unless said. */
  readonly transports?: TransportChoice;
  /**
   * BOXOFFICE_NAMESPACE: prefixes every queue, exchange, topic and consumer group on the brokers
   * (`<namespace>.<name>`), so that two copies of the system, such as two end-to-end specs
   * running at once, share the brokers but never see each other's messages. Empty (the default):
   * the catalog's names as they are.
   */
  readonly namespace?: string;
  /** The catalog, its channels named logically (`billing.charge-order`); libs/contracts' whole catalog unless a spec gives its own. */
  readonly entries?: ReadonlyArray<CatalogEntry>;
}

/**
 * The catalog read for one deployment: where a message goes, and what a service consumes from
 * where. Nothing else in the system states a route.
 *
 * The catalog names channels logically; this is the one place that turns a logical name into
 * the one on the brokers (`nameOf`). Every channel, group and exchange it answers is a broker's
 * name, ready for a transport; `entries` keep the logical ones.
 */
export class Routing {
  readonly transports: TransportChoice;
  readonly namespace: string;
  readonly entries: ReadonlyArray<CatalogEntry>;

  constructor({ transports = defaultTransports, namespace = '', entries = catalog }: RoutingOptions = {}) {
    this.transports = transports;
    this.namespace = namespace;
    this.entries = entries;
  }

  /** The name on the brokers of a logical one (a channel, an exchange, a consumer): prefixed with the namespace, if there is one. */
  nameOf(logical: string): string {
    return this.namespace ? `${this.namespace}.${logical}` : logical;
  }

  /** The direct exchange commands are published to, for brokers that route through one (RabbitMQ). */
  get commandExchange(): string {
    return this.nameOf(commandExchange);
  }

  /**
   * The name a service consumes under (a Kafka consumer group, a NATS durable, ...): one per
   * service, so that every service gets every event and a service's instances share the work.
   */
  consumerGroupOf(consumer: ServiceName | string): string {
    return this.nameOf(consumer);
  }

  transportOf(message: Pick<MessageDefinition, 'kind'>): TransportName {
    return this.transports[message.kind];
  }

  destinationOf(message: MessageDefinition, payload: unknown): Destination {
    const line = entryOf(message, this.entries);
    return { transport: this.transportOf(message), channel: this.nameOf(line.channel), key: keyOf(line, payload) };
  }

  /** The service's sources, one per transport it consumes from. */
  sourcesOf(service: ServiceName): ConsumerSource[] {
    const byTransport = new Map<TransportName, { channels: Set<string>; messages: MessageDefinition[] }>();
    for (const line of this.entries.filter((e) => e.consumers.includes(service))) {
      const transport = this.transportOf(line.message);
      const source = byTransport.get(transport) ?? { channels: new Set<string>(), messages: [] };
      source.channels.add(this.nameOf(line.channel));
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
    return [...new Set(this.usedBy(service).map((e) => this.transportOf(e.message)))];
  }

  /**
   * The channels on `transport` the service reads from (`reads`) and those it only sends to
   * (`sendsOnly`): what it provisions there, and how (Transport.provision, provisionForSending).
   */
  channelsUsedBy(service: ServiceName, transport: TransportName): { reads: string[]; sendsOnly: string[] } {
    const used = this.usedBy(service).filter((e) => this.transportOf(e.message) === transport);
    const reads = new Set(used.filter((e) => e.consumers.includes(service)).map((e) => this.nameOf(e.channel)));
    const sendsOnly = new Set(used.map((e) => this.nameOf(e.channel)).filter((channel) => !reads.has(channel)));
    return { reads: [...reads], sendsOnly: [...sendsOnly] };
  }

  /** The channels a transport carries, with the services that read each: for provisioning and dead-letter tools. */
  channelsOn(transport: TransportName): Array<{ readonly channel: string; readonly kind: MessageKind; readonly consumers: ServiceName[] }> {
    const channels = new Map<string, { channel: string; kind: MessageKind; consumers: Set<ServiceName> }>();
    for (const line of this.entries.filter((e) => this.transportOf(e.message) === transport)) {
      const name = this.nameOf(line.channel);
      const channel = channels.get(name) ?? { channel: name, kind: line.message.kind, consumers: new Set<ServiceName>() };
      for (const consumer of line.consumers) channel.consumers.add(consumer);
      channels.set(name, channel);
    }
    return [...channels.values()].map((c) => ({ ...c, consumers: [...c.consumers] }));
  }

  /** What a transport's dead-letter store looks at: each channel the catalog puts on it, with the consumer groups that read it. */
  deadLetterScopeOn(transport: TransportName): DeadLetterScope {
    return this.channelsOn(transport).map(({ channel, consumers }) => ({
      channel,
      consumers: consumers.map((consumer) => this.consumerGroupOf(consumer)),
    }));
  }

  private usedBy(service: ServiceName): CatalogEntry[] {
    return this.entries.filter((e) => e.publisher === service || e.consumers.includes(service));
  }
}
