import type pg from 'pg';

/**
 * Runs `work` in a transaction on a client of `pool`: COMMIT if it resolves, ROLLBACK if it
 * throws. PostgreSQL may end the connection while the transaction sits between statements
 * (a restart, a failover, an admin); pg reports that as an 'error' event on the client, not
 * through a query, and an unheard 'error' event crashes the process. It is heard here: the
 * transaction fails instead, and the broken client is discarded rather than pooled again.
 */
export async function inPgTransaction<R>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onConnectionError = (error: Error) => (broken = error);
  client.on('error', onConnectionError);
  try {
    await client.query('BEGIN');
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
