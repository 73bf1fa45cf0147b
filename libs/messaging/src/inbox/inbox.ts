import type { Envelope } from '@boxoffice/contracts';
import type { HandlerOutcome } from '../handler-outcome.js';
import type { SqlExecutor, TransactionRunner } from '../sql-client.js';

/** Carries a non-done outcome out of the transaction, so that the transaction rolls back. */
class Abandon extends Error {
  constructor(readonly outcome: HandlerOutcome) {
    super(`abandoned: ${outcome.kind}`);
  }
}

export interface InboxOptions {
  /** Interactive transaction timeout; the handler's work must fit in it. */
  readonly transactionTimeoutMs?: number;
}

/**
 * Makes a handler's effect happen once per message, however often the broker delivers it.
 * The inbox row and the handler's database work commit in one transaction; the broker ack or
 * offset commit comes after. A crash before the commit leaves neither, and the redelivery does
 * the work; a crash after it leaves both, and the redelivery finds the row and does nothing.
 */
export class Inbox<Tx extends SqlExecutor> {
  readonly counters = { processed: 0, duplicates: 0 };

  constructor(
    private readonly db: TransactionRunner<Tx> & SqlExecutor,
    private readonly consumer: string,
    private readonly options: InboxOptions = {},
  ) {}

  async handleOnce(message: Envelope, work: (tx: Tx) => Promise<HandlerOutcome>): Promise<HandlerOutcome> {
    try {
      const outcome = await this.db.$transaction(
        async (tx) => {
          const isNew = await tx.$executeRawUnsafe(
            `INSERT INTO inbox_message (consumer, message_id, type) VALUES ($1, $2::uuid, $3)
             ON CONFLICT DO NOTHING`,
            this.consumer,
            message.id,
            message.type,
          );
          if (isNew === 0) return null; // processed before: acknowledge, change nothing
          const outcome = await work(tx);
          if (outcome.kind !== 'done') throw new Abandon(outcome);
          return outcome;
        },
        { timeout: this.options.transactionTimeoutMs ?? 30_000, maxWait: 30_000 },
      );
      if (outcome === null) {
        this.counters.duplicates += 1;
        return { kind: 'done' };
      }
      this.counters.processed += 1;
      return outcome;
    } catch (error) {
      if (error instanceof Abandon) return error.outcome;
      throw error;
    }
  }

  /** Forgets messages older than the window; a duplicate older than that would be processed again. */
  async prune(olderThanMs: number): Promise<number> {
    return this.db.$executeRawUnsafe(
      `DELETE FROM inbox_message WHERE consumer = $1 AND received_at < now() - make_interval(secs => $2::float8 / 1000)`,
      this.consumer,
      olderThanMs,
    );
  }
}
