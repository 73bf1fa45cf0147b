import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { silentLogger } from '../logger.js';
import { PgTransactionRunner } from '../pg-transaction-runner.js';
import type { SqlExecutor } from '../sql-client.js';
import { Inbox } from './inbox.js';
import { InboxPruner } from './inbox.pruner.js';
import { DEFAULT_INBOX_RETENTION_DAYS } from './inbox.retention.js';

const DAY_MS = 24 * 60 * 60 * 1_000;

describe('pruning the inbox', () => {
  let db: TestDatabase;
  let runner: PgTransactionRunner;

  beforeAll(async () => {
    db = await createTestDatabase('inbox_prune', [new URL('../../sql/outbox-inbox.sql', import.meta.url)]);
    runner = new PgTransactionRunner(db.pool);
  });
  beforeEach(() => db.pool.query('TRUNCATE inbox_message'));
  afterAll(() => db.drop());

  /** `count` rows for `consumer`, received `daysAgo` days ago; their ids. */
  async function received(consumer: string, count: number, daysAgo: number): Promise<string[]> {
    const messages = Array.from({ length: count }, () => ({ id: randomUUID(), type: 'Credited' }));
    await runner.$transaction((tx) => Inbox.claim(tx, consumer, messages));
    await db.pool.query(
      `UPDATE inbox_message SET received_at = now() - make_interval(secs => $2::float8 / 1000) WHERE message_id = ANY($1::uuid[])`,
      [messages.map((m) => m.id), daysAgo * DAY_MS],
    );
    return messages.map((m) => m.id);
  }
  const remaining = async () =>
    (await db.pool.query<{ id: string }>('SELECT message_id::text AS id FROM inbox_message ORDER BY message_id')).rows.map((r) => r.id);

  it("forgets every consumer's rows older than the window, and keeps the rest", async () => {
    await received('billing', 3, 41);
    await received('analytics', 2, 50);
    const kept = [...(await received('billing', 2, 39)), ...(await received('analytics', 2, 0))];

    await expect(Inbox.prune(runner, 40 * DAY_MS)).resolves.toBe(5);
    await expect(remaining()).resolves.toEqual(kept.sort());
  });

  it('deletes a long backlog a bounded batch a statement', async () => {
    await received('billing', 23, 60);
    const statements: number[] = [];
    const counting: SqlExecutor = {
      $queryRawUnsafe: (query, ...values) => runner.$queryRawUnsafe(query, ...values),
      $executeRawUnsafe: async (query, ...values) => {
        const deleted = await runner.$executeRawUnsafe(query, ...values);
        statements.push(deleted);
        return deleted;
      },
    };

    await expect(Inbox.prune(counting, DAY_MS, { batchSize: 10 })).resolves.toBe(23);
    expect(statements).toEqual([10, 10, 3]);
  });

  it('lets two pruners run side by side, each row deleted once', async () => {
    await received('billing', 40, 60);
    const [a, b] = await Promise.all([Inbox.prune(runner, DAY_MS, { batchSize: 5 }), Inbox.prune(runner, DAY_MS, { batchSize: 5 })]);
    expect(a + b).toBe(40);
    await expect(remaining()).resolves.toEqual([]);
  });

  it('keeps rows inside the default window: longer than a Kafka dead letter replayed and read again (35 days)', async () => {
    expect(DEFAULT_INBOX_RETENTION_DAYS).toBeGreaterThan(35);
    const kept = await received('analytics', 2, 35);
    await received('analytics', 1, DEFAULT_INBOX_RETENTION_DAYS + 1);

    await Inbox.prune(runner, DEFAULT_INBOX_RETENTION_DAYS * DAY_MS);
    await expect(remaining()).resolves.toEqual(kept.sort());
  });

  describe('the pruner a service runs', () => {
    it('prunes as soon as it starts, and again every period, until stopped', async () => {
      await received('billing', 3, 2);
      const pruner = new InboxPruner({ database: runner, retentionMs: DAY_MS, everyMs: 50, logger: silentLogger });
      pruner.start();
      try {
        await waitFor(remaining, (ids) => ids.length === 0, { description: 'the first run to prune the old rows' });
        // Rows older than the window that appear while it runs go at a later run.
        await received('billing', 2, 2);
        await waitFor(remaining, (ids) => ids.length === 0, { description: 'a later run to prune the rows that aged' });
      } finally {
        await pruner.stop();
      }
      await received('billing', 1, 2);
      await expect(pruner.pruneOnce()).resolves.toBe(0); // stopped: it prunes no more
    });

    it('goes on after a run fails (the database away)', async () => {
      await received('billing', 2, 2);
      let failures = 1;
      const flaky: SqlExecutor = {
        $queryRawUnsafe: (query, ...values) => runner.$queryRawUnsafe(query, ...values),
        $executeRawUnsafe: (query, ...values) =>
          failures-- > 0 ? Promise.reject(new Error('connection refused')) : runner.$executeRawUnsafe(query, ...values),
      };
      const warnings: string[] = [];
      const pruner = new InboxPruner({
        database: flaky,
        retentionMs: DAY_MS,
        everyMs: 50,
        logger: { ...silentLogger, warn: (line) => warnings.push(line) },
      });
      pruner.start();
      try {
        await waitFor(remaining, (ids) => ids.length === 0, { description: 'the run after the failed one to prune' });
      } finally {
        await pruner.stop();
      }
      expect(warnings).toEqual([expect.stringContaining('could not prune (connection refused)')]);
    });
  });
});
