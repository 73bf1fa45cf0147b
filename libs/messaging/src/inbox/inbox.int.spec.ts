import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { defineMessage } from '@boxoffice/contracts';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { PgTransactionRunner } from '../pg-transaction-runner.js';
import { z } from 'zod';
import { EnvelopeFactory } from '../envelope.factory.js';
import { Outcome } from '../handler-outcome.js';
import type { SqlExecutor } from '../sql-client.js';
import { Inbox } from './inbox.js';

const Credited = defineMessage({ type: 'Credited', version: 1, kind: 'event', description: 'test', schema: z.object({ amount: z.number() }) });
const envelopes = new EnvelopeFactory('inbox-spec');

describe('the inbox', () => {
  let db: TestDatabase;
  let inbox: Inbox<SqlExecutor>;

  beforeAll(async () => {
    db = await createTestDatabase('inbox', [new URL('../../sql/outbox-inbox.sql', import.meta.url)]);
    await db.pool.query('CREATE TABLE balance (total int NOT NULL)');
    inbox = new Inbox(new PgTransactionRunner(db.pool), 'ledger');
  });
  beforeEach(() => db.pool.query('TRUNCATE inbox_message, balance; INSERT INTO balance VALUES (0)'));
  afterAll(() => db.drop());

  const credit = (amount: number) => (tx: SqlExecutor) =>
    tx.$executeRawUnsafe('UPDATE balance SET total = total + $1', amount).then(() => Outcome.done());
  const balance = async () => (await db.pool.query('SELECT total FROM balance')).rows[0].total;

  describe('when the same message arrives three times', () => {
    it('has one effect, and acknowledges every copy', async () => {
      const message = envelopes.create(Credited, { amount: 5 });
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await inbox.handleOnce(message, credit(5)));
      expect(outcomes).toEqual([Outcome.done(), Outcome.done(), Outcome.done()]);
      expect(await balance()).toBe(5);
    });
  });

  describe('when copies of a message arrive at the same time', () => {
    it('still has one effect', async () => {
      const message = envelopes.create(Credited, { amount: 7 });
      await Promise.all([1, 2, 3, 4].map(() => inbox.handleOnce(message, credit(7))));
      expect(await balance()).toBe(7);
    });
  });

  describe('when the handler asks for a retry', () => {
    it('rolls back its work and the inbox row, so the redelivery does the work', async () => {
      const message = envelopes.create(Credited, { amount: 3 });
      const failing = (tx: SqlExecutor) =>
        tx.$executeRawUnsafe('UPDATE balance SET total = total + 3').then(() => Outcome.retry('payment gateway timed out'));
      await expect(inbox.handleOnce(message, failing)).resolves.toEqual(Outcome.retry('payment gateway timed out'));
      expect(await balance()).toBe(0);
      await inbox.handleOnce(message, credit(3));
      expect(await balance()).toBe(3);
    });
  });

  describe('when the handler throws', () => {
    it('rolls back and lets the error reach the transport', async () => {
      const message = envelopes.create(Credited, { amount: 1 });
      await expect(inbox.handleOnce(message, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
      const { rowCount } = await db.pool.query('SELECT 1 FROM inbox_message');
      expect(rowCount).toBe(0);
    });
  });

  it('forgets entries older than its window, and only its own', async () => {
    await inbox.handleOnce(envelopes.create(Credited, { amount: 1 }), credit(1));
    await inbox.handleOnce(envelopes.create(Credited, { amount: 1 }), credit(1));
    const other = new Inbox(new PgTransactionRunner(db.pool), 'other');
    await other.handleOnce(envelopes.create(Credited, { amount: 1 }), credit(1));
    await db.pool.query("UPDATE inbox_message SET received_at = now() - interval '8 days'");
    await inbox.handleOnce(envelopes.create(Credited, { amount: 1 }), credit(1));

    await expect(inbox.prune(7 * 24 * 60 * 60 * 1000)).resolves.toBe(2);
    const { rows } = await db.pool.query('SELECT consumer FROM inbox_message ORDER BY consumer');
    expect(rows).toEqual([{ consumer: 'ledger' }, { consumer: 'other' }]);
  });
});
