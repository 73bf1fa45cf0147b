import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig, serviceEnv } from '@boxoffice/config';
import { PgTransactionRunner } from '@boxoffice/messaging';
import { createTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { Module, type DynamicModule, type FactoryProvider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { brokerSettings } from './broker.settings.js';
import { InboxPruning } from './inbox.pruning.js';
import { provideMessaging } from './messaging.providers.js';
import { PRISMA } from './prisma.provider.js';

// What a service's module gets from provideMessaging prunes its inbox while the application runs,
// with the window its configuration says.
describe("a service's inbox pruning", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('inbox_pruning', [new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url)]);
  });
  afterAll(() => db.drop());

  /** A row for a message Billing received `daysAgo` days ago; its id. */
  async function receivedDaysAgo(daysAgo: number): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO inbox_message (consumer, message_id, type, received_at) VALUES ('billing', $1, 'ChargeOrder', now() - make_interval(days => $2))`,
      [id, daysAgo],
    );
    return id;
  }
  const remaining = async () =>
    (await db.pool.query<{ id: string }>('SELECT message_id::text AS id FROM inbox_message')).rows.map((r) => r.id);

  it('starts with the application, prunes what is older than INBOX_RETENTION_DAYS, and stops with it', async () => {
    await receivedDaysAgo(3);
    const kept = await receivedDaysAgo(1);
    const brokers = brokerSettings(loadConfig(z.object(serviceEnv('billing', 3002)), { INBOX_RETENTION_DAYS: '2' }));
    expect(brokers.inboxRetentionMs).toBe(2 * 24 * 60 * 60 * 1_000);
    const pruning = provideMessaging({ service: 'billing', databaseUrl: db.url, brokers, handlers: [] }).find(
      (provider): provider is FactoryProvider => typeof provider === 'object' && 'provide' in provider && provider.provide === InboxPruning,
    );
    expect(pruning).toBeDefined();

    @Module({})
    class ServiceModule {}
    const module: DynamicModule = {
      module: ServiceModule,
      providers: [{ provide: PRISMA, useValue: new PgTransactionRunner(db.pool) }, pruning!],
    };
    const app = await NestFactory.createApplicationContext(module, { logger: false });
    try {
      await app.init();
      await waitFor(remaining, (ids) => ids.length === 1, { description: 'the row older than the window to be pruned' });
      await expect(remaining()).resolves.toEqual([kept]);
    } finally {
      await app.close();
    }
  });

  it('keeps rows 40 days unless told otherwise', () => {
    const brokers = brokerSettings(loadConfig(z.object(serviceEnv('analytics', 3003)), {}));
    expect(brokers.inboxRetentionMs).toBe(40 * 24 * 60 * 60 * 1_000);
  });
});
