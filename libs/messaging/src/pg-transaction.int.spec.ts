import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { inPgTransaction, TransactionTimedOut } from './pg-transaction.js';

describe('a transaction on a pooled pg client', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('pg_transaction');
    await db.pool.query('CREATE TABLE note (text text NOT NULL)');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('commits what the work wrote when it resolves', async () => {
    await inPgTransaction(db.pool, (client) => client.query("INSERT INTO note VALUES ('kept')"));
    const { rows } = await db.pool.query('SELECT text FROM note');
    expect(rows).toEqual([{ text: 'kept' }]);
  });

  it('rolls back what the work wrote when it throws', async () => {
    const failing = inPgTransaction(db.pool, async (client) => {
      await client.query("INSERT INTO note VALUES ('dropped')");
      throw new Error('the business rule said no');
    });
    await expect(failing).rejects.toThrow('the business rule said no');
    await expect(db.pool.query("SELECT count(*)::int AS n FROM note WHERE text = 'dropped'")).resolves.toMatchObject({ rows: [{ n: 0 }] });
  });

  describe('with settings', () => {
    it('runs that transaction alone with them', async () => {
      const setting = 'SELECT current_setting($1) AS value';
      const inside = await inPgTransaction(
        db.pool,
        async (client) => (await client.query<{ value: string }>(setting, ['synchronous_commit'])).rows[0].value,
        { settings: ['synchronous_commit = off', "application_name = 'relay'"] },
      );
      expect(inside).toBe('off');
      // The pool's connections are back at their own values: SET LOCAL ended with the transaction.
      const after = await inPgTransaction(
        db.pool,
        async (client) => (await client.query<{ value: string }>(setting, ['synchronous_commit'])).rows[0].value,
      );
      expect(after).toBe('on');
    });

    it('fails, and writes nothing, when PostgreSQL refuses one of them', async () => {
      const failing = inPgTransaction(db.pool, (client) => client.query("INSERT INTO note VALUES ('unset')"), {
        settings: ['synchronous_commit = sometimes'],
      });
      await expect(failing).rejects.toThrow(/synchronous_commit/);
      await expect(db.pool.query("SELECT count(*)::int AS n FROM note WHERE text = 'unset'")).resolves.toMatchObject({ rows: [{ n: 0 }] });
      // The connection went back to the pool usable: no transaction left open on it.
      await expect(inPgTransaction(db.pool, (client) => client.query('SELECT 1'))).resolves.toBeDefined();
    });
  });

  describe('with a timeout', () => {
    it('fails, without waiting for the work, once the work outlasts it; nothing the work sends then lands', async () => {
      let resume!: () => void;
      const stalled = new Promise<void>((resolve) => (resume = resolve));
      let afterTimeout: Promise<unknown> | undefined;
      const slow = inPgTransaction(
        db.pool,
        async (client) => {
          await client.query("INSERT INTO note VALUES ('before the timeout')");
          await stalled; // a handler that hangs
          afterTimeout = client.query("INSERT INTO note VALUES ('after the timeout')");
          await afterTimeout;
        },
        { timeoutMs: 200 },
      );
      await expect(slow).rejects.toThrow(TransactionTimedOut);

      resume();
      // Wrapped, so that waitFor does not wait on the statement itself.
      const stray = await waitFor(
        async () => (afterTimeout ? { statement: afterTimeout } : null),
        (sent) => sent !== null,
        { description: 'the hung work to send its next statement' },
      );
      await expect(stray!.statement).rejects.toThrow(/not queryable/);
      const { rows } = await db.pool.query("SELECT text FROM note WHERE text LIKE '%the timeout'");
      expect(rows).toEqual([]);
      // The pool goes on, on a fresh connection.
      await expect(inPgTransaction(db.pool, (client) => client.query('SELECT 1'), { timeoutMs: 5_000 })).resolves.toBeDefined();
    });
  });

  describe('when PostgreSQL ends the connection while the transaction waits between statements', () => {
    it('fails that transaction, and the next one runs on a fresh connection', async () => {
      const failing = inPgTransaction(db.pool, async (client) => {
        await client.query("INSERT INTO note VALUES ('lost')");
        const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        // The termination arrives as an 'error' event while no query runs; an unheard one would
        // crash this process. Wait until the server has really dropped the session.
        await waitFor(
          async () => (await db.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [rows[0].pid])).rows[0].n,
          (n) => n === 0,
          { description: 'the session to end' },
        );
        await client.query("INSERT INTO note VALUES ('after')");
      });

      await expect(failing).rejects.toThrow();
      await inPgTransaction(db.pool, (client) => client.query("INSERT INTO note VALUES ('next')"));
      const { rows } = await db.pool.query("SELECT text FROM note WHERE text IN ('lost', 'after', 'next') ORDER BY text");
      expect(rows).toEqual([{ text: 'next' }]);
    });
  });
});
