import type { Envelope } from '@boxoffice/contracts';
import type { Destination } from '../destination.js';
import type { SqlExecutor } from '../sql-client.js';

/**
 * The write side of the transactional outbox. Call `add` inside the Prisma transaction that makes
 * the business change: both commit or neither does, so a message is never published for a change
 * that rolled back, and never lost for one that committed. Publishing is the relay's job.
 */
export class Outbox {
  async add(tx: SqlExecutor, envelope: Envelope, destination: Destination, headers?: Record<string, string>): Promise<void> {
    await tx.$executeRawUnsafe(
      `INSERT INTO outbox_message (id, type, destination, partition_key, envelope, headers)
       VALUES ($1::uuid, $2, $3::jsonb, $4, $5::jsonb, $6::jsonb)`,
      envelope.id,
      envelope.type,
      JSON.stringify(destination),
      partitionKeyOf(envelope, destination),
      JSON.stringify(envelope),
      headers ? JSON.stringify(headers) : null,
    );
  }
}

/**
 * The relay publishes messages with the same key in the order they were added, and may publish
 * different keys in parallel. On Kafka that is the partition key. A work queue is consumed by
 * competing consumers, which reorder anyway, so each command is a key of its own.
 */
function partitionKeyOf(envelope: Envelope, destination: Destination): string {
  return destination.transport === 'kafka' ? `${destination.topic}:${destination.key}` : envelope.id;
}
