import { catalog, channelsOf, commandExchange, servicesOf, type CatalogEntry, type ServiceName } from '@boxoffice/contracts';

/** One account's permissions on the project's vhost: three regular expressions over the names of queues and exchanges. */
export interface RabbitMqPermissions {
  /** Declare and delete. */
  readonly configure: string;
  /** Publish to an exchange; bind a queue (write on the queue, read on the exchange). */
  readonly write: string;
  /** Consume from or get a queue; bind (read on the exchange). */
  readonly read: string;
}

/**
 * What each service's RabbitMQ account may do, read from the catalog and nowhere else: a new
 * message line changes them (npm run brokers:accounts writes them out; a spec checks that what
 * is committed is what the catalog says). RabbitMQ carries the commands; for each command queue:
 *
 *   a service that sends to it    configure and write the commands exchange, nothing on the queue
 *   the service that reads it     configure the queue, its delay queues and its dead letter queue;
 *                                 read them (consume; list and replay dead letters; and RabbitMQ
 *                                 lets only an account that may read a dead-lettering queue
 *                                 declare it); write the exchange (it puts jobs back on its own
 *                                 queue: Billing's resumed charges, replays), the queue (its
 *                                 binding) and the default exchange (retries hop through the delay
 *                                 queues, dead letters go to the dead letter queue)
 *
 * A service the catalog gives no command has no permission on the vhost at all: RabbitMQ refuses
 * its connection. The expressions accept any namespace prefix (BOXOFFICE_NAMESPACE), so that two
 * copies of the system on one broker (the end-to-end specs) use the same accounts.
 */
export function rabbitMqPermissions(entries: ReadonlyArray<CatalogEntry> = catalog): Map<ServiceName, RabbitMqPermissions> {
  const permissions = new Map<ServiceName, RabbitMqPermissions>();
  for (const service of servicesOf(entries)) {
    const { sends, reads } = channelsOf(service, 'command', entries);
    if (sends.length === 0 && reads.length === 0) continue;
    const topologies = reads.map(topologyPattern);
    permissions.set(service, {
      configure: names([escaped(commandExchange), ...topologies]),
      write: names([escaped(commandExchange), ...(reads.length > 0 ? [...reads.map(escaped), escaped('amq.default')] : [])]),
      read: reads.length > 0 ? names([escaped(commandExchange), ...topologies]) : '^$',
    });
  }
  return permissions;
}

/** A work queue with its delay queues and dead letter queue (rabbitmq.topology.ts names them). */
function topologyPattern(queue: string): string {
  return `${escaped(queue)}(\\.retry\\.\\d+|\\.dlq)?`;
}

/**
 * Any of these names, in any namespace (`<namespace>.<name>`), and nothing else. The default
 * exchange is `amq.default` to the permission check, and is never namespaced.
 */
function names(patterns: ReadonlyArray<string>): string {
  const namespaced = patterns.filter((p) => p !== escaped('amq.default'));
  const alternatives = [`^([\\w.-]+\\.)?(${namespaced.join('|')})$`];
  if (namespaced.length < patterns.length) alternatives.push(`^${escaped('amq.default')}$`);
  return alternatives.join('|');
}

function escaped(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
