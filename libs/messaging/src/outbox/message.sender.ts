import type { Envelope, MessageDefinition, PayloadOf } from '@boxoffice/contracts';
import type { Routing } from '../destination.js';
import type { EnvelopeFactory, EnvelopeOptions } from '../envelope.factory.js';
import type { SqlExecutor } from '../sql-client.js';
import { Outbox, type OutboxEntry } from './outbox.js';

/**
 * How a service sends: one call builds the envelope, finds the destination in the catalog and
 * writes the outbox row, in the caller's transaction.
 *
 *     await messages.send(tx, OrderConfirmed, payload, { causedBy });
 */
export class MessageSender {
  constructor(
    private readonly envelopes: EnvelopeFactory,
    private readonly routing: Routing,
    private readonly outbox: Outbox = new Outbox(),
  ) {}

  async send<Definition extends MessageDefinition>(
    tx: SqlExecutor,
    definition: Definition,
    payload: PayloadOf<Definition>,
    options: EnvelopeOptions = {},
  ): Promise<Envelope<PayloadOf<Definition>>> {
    const entry = this.entry(definition, payload, options);
    await this.addMany(tx, [entry]);
    return entry.envelope as Envelope<PayloadOf<Definition>>;
  }

  /** The envelope and destination of a message, not written yet: for `Outbox.addMany` or a statement of one's own. */
  entry<Definition extends MessageDefinition>(
    definition: Definition,
    payload: PayloadOf<Definition>,
    options: EnvelopeOptions = {},
  ): OutboxEntry {
    const envelope = this.envelopes.create(definition, payload, options);
    return { envelope, destination: this.routing.destinationOf(definition, envelope.payload) };
  }

  addMany(tx: SqlExecutor, entries: ReadonlyArray<OutboxEntry>): Promise<void> {
    return this.outbox.addMany(tx, entries);
  }
}
