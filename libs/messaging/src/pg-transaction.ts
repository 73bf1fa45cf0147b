import type pg from 'pg';

export interface TransactionOptions {
  /**
   * Settings for this transaction alone (`SET LOCAL`), as `name = value`. They travel with BEGIN
   * in one message: a round trip fewer than setting them from `work`, which on a busy host is a
   * wait for a core, on both sides, per transaction.
   */
  readonly settings?: ReadonlyArray<string>;
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
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
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
