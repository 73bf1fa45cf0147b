/**
 * RabbitMQ refused to declare a queue as boxoffice declares it (PRECONDITION_FAILED, 406): a queue
 * of that name exists with another type or other arguments, and RabbitMQ changes neither in place.
 * The usual cause is a work or delay queue left as a classic queue by an older boxoffice, or a
 * retry policy or delivery limit changed since the queue was made. Nothing is deleted for the
 * operator: the queue may hold commands. The message says what to do; the README's "Moving
 * existing queues" says how.
 */
export class TopologyRefused extends Error {
  override readonly name = 'TopologyRefused';

  constructor(
    readonly queue: string,
    readonly wanted: Readonly<Record<string, unknown>>,
    cause: Error,
  ) {
    super(
      `RabbitMQ refused to declare queue '${queue}' as ${describe(wanted)}: it exists with other arguments ` +
        `(${cause.message}). RabbitMQ cannot change a queue's type or arguments in place: move its messages ` +
        `out, delete it, and start again (libs/messaging-rabbitmq/README.md, "Moving existing queues").`,
      { cause },
    );
  }
}

function describe(args: Readonly<Record<string, unknown>>): string {
  return Object.entries(args)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}
