import type { Envelope } from '@boxoffice/contracts';
import type { Destination } from '../destination.js';
import type { SqlExecutor } from '../sql-client.js';

/** One message to send: what `Outbox.add` takes, for `addMany`. */
export interface OutboxEntry {
  readonly envelope: Envelope;
  readonly destination: Destination;
  readonly headers?: Record<string, string>;
}

/** An `outbox_message` row as the outbox writes it; the table fills in status, position and times. */
export interface OutboxRow {
  readonly id: string;
  readonly type: string;
  readonly destination: Destination;
  readonly partition_key: string;
  readonly envelope: Envelope;
  readonly headers: Record<string, string> | null;
}

const COLUMNS = ['id', 'type', 'destination', 'partition_key', 'envelope', 'headers'] as const;

/**
 * The write side of the transactional outbox. Call `add` inside the Prisma transaction that makes
 * the business change: both commit or neither does, so a message is never published for a change
 * that rolled back, and never lost for one that committed. Publishing is the relay's job.
 */
export class Outbox {
  async add(tx: SqlExecutor, envelope: Envelope, destination: Destination, headers?: Record<string, string>): Promise<void> {
    await this.addMany(tx, [{ envelope, destination, headers }]);
  }

  /** Adds several messages with one statement, in the given order. */
  async addMany(tx: SqlExecutor, entries: ReadonlyArray<OutboxEntry>): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map(({ envelope, destination, headers }) => Outbox.row(envelope, destination, headers));
    await tx.$executeRawUnsafe(
      Outbox.insertRowsFrom('SELECT row AS outbox_row FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(row, n) ORDER BY n'),
      JSON.stringify(rows),
    );
  }

  /** The row `add` writes for a message: for a statement that writes messages along with other rows. */
  static row(envelope: Envelope, destination: Destination, headers?: Record<string, string>): OutboxRow {
    return {
      id: envelope.id,
      type: envelope.type,
      destination,
      partition_key: partitionKeyOf(destination),
      envelope,
      headers: headers ?? null,
    };
  }

  /**
   * The INSERT that `add` runs, for a statement of your own: `source` is a query whose column
   * `outbox_row` holds `Outbox.row`s as jsonb. Checkout's group commit uses it to write the
   * ChargeOrder of exactly the orders its same statement inserted.
   */
  static insertRowsFrom(source: string): string {
    return `INSERT INTO outbox_message (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.map((column) => `r.${column}`).join(', ')}
    FROM (${source}) AS source, jsonb_populate_record(NULL::outbox_message, source.outbox_row) AS r`;
  }
}

/**
 * The relay publishes messages with the same key on the same channel in the order they were
 * added, and may publish different keys in parallel: the catalog's `keyedBy` says what the key is.
 */
function partitionKeyOf(destination: Destination): string {
  return `${destination.channel}:${destination.key}`;
}
