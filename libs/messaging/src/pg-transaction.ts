import type pg from 'pg';
import { withinTimeLimit } from './time-limit.js';

export interface TransactionOptions {
  /**
   * Settings for this transaction alone (`SET LOCAL`), as `name = value`. They travel with BEGIN
   * in one message: a round trip fewer than setting them from `work`, which on a busy host is a
   * wait for a core, on both sides, per transaction.
   */
  readonly settings?: ReadonlyArray<string>;
  /**
   * How long the work may take. Past it the transaction fails (TransactionTimedOut) without waiting
   * for the work, and its connection is closed rather than pooled again: PostgreSQL rolls the
   * transaction back, and whatever the work still sends is refused. Without it, no limit.
   */
  readonly timeoutMs?: number;
}

/** A transaction whose work took longer than its `timeoutMs`: rolled back, its connection closed. */
export class TransactionTimedOut extends Error {
  constructor(timeoutMs: number) {
    super(`the transaction took longer than ${timeoutMs} ms and was rolled back`);
    this.name = 'TransactionTimedOut';
  }
}

/**
 * Runs `work` in a transaction on a client of `pool`: COMMIT if it resolves, ROLLBACK if it
 * throws. PostgreSQL may end the connection while the transaction sits between statements
 * (a restart, a failover, an admin); pg reports that as an 'error' event on the client, not
 * through a query, and an unheard 'error' event crashes the process. It is heard here: the
 * transaction fails instead, and the broken client is discarded rather than pooled again.
 */
export async function inPgTransaction<R>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<R>,
  options: TransactionOptions = {},
): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onConnectionError = (error: Error) => (broken = error);
  client.on('error', onConnectionError);
  try {
    await client.query(beginOf(options.settings ?? []));
    const result = await withinTimeout(work(client), options.timeoutMs);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // Timed out, the work may still be running, a statement of it too: closing the connection is
    // the rollback that does not wait for it.
    if (error instanceof TransactionTimedOut) broken = error;
    else await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    client.off('error', onConnectionError);
    client.release(broken);
  }
}

/** BEGIN and the settings as one simple query: PostgreSQL runs the statements of a message in order. */
function beginOf(settings: ReadonlyArray<string>): string {
  return ['BEGIN', ...settings.map((setting) => `SET LOCAL ${setting}`)].join('; ');
}

function withinTimeout<R>(work: Promise<R>, timeoutMs: number | undefined): Promise<R> {
  if (timeoutMs === undefined) return work;
  return withinTimeLimit(work, timeoutMs, () => new TransactionTimedOut(timeoutMs));
}
