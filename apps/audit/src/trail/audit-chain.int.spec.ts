import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { PrismaClient } from '../generated/prisma/client.js';
import type { AuditEntry } from './audit-entry.js';
import { verifyChain } from './audit-chain.js';
import { AuditLog } from './audit-log.js';

const run = promisify(execFile);

describe('the audit log’s hash chain', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let log: AuditLog;

  beforeEach(async () => {
    db = await createMigratedTestDatabase('audit_chain', 'apps/audit/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
    log = new AuditLog(prisma);
  });
  afterEach(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  const entry = (actor: string | null = `${randomUUID()}@example.com`): AuditEntry => ({
    eventId: randomUUID(),
    type: 'OrderConfirmed',
    topic: 'boxoffice.orders',
    actor,
    ip: '203.0.113.7',
    occurredAt: new Date(),
    payloadHash: randomUUID(),
  });
  /** Ten entries in three batches, one event delivered twice: the log as the service writes it. */
  const writeLog = async () => {
    const batches = [
      [entry(), entry(), entry()],
      [entry(), entry(null)],
      [entry(), entry(), entry(), entry(), entry()],
    ];
    for (const batch of batches) await prisma.$transaction((tx) => log.appendAll(tx, batch));
    await prisma.$transaction((tx) => log.appendAll(tx, [batches[1][0]]));
    return batches.flat();
  };
  /** What someone with the database's password, and not the service, does to the log. */
  const behindTheService = (sql: string, ...values: unknown[]) =>
    prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
      await tx.$executeRawUnsafe(sql, ...values);
      await tx.$executeRawUnsafe('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    });
  const positionOf = async (eventId: string) => (await prisma.auditLog.findUniqueOrThrow({ where: { eventId } })).position.toString();

  it('is intact as the service writes it, a redelivered event adding nothing', async () => {
    await writeLog();
    await expect(verifyChain(prisma)).resolves.toMatchObject({
      intact: true,
      entries: 10,
      unchained: 0,
      head: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('stays intact when several writers append at once: they take turns on the head', async () => {
    await Promise.all(Array.from({ length: 8 }, () => prisma.$transaction((tx) => log.appendAll(tx, [entry(), entry()]))));
    await expect(verifyChain(prisma)).resolves.toMatchObject({ intact: true, entries: 16 });
  });

  it('breaks where an entry was changed', async () => {
    const entries = await writeLog();
    await behindTheService(`UPDATE audit_log SET type = 'OrderRejected' WHERE event_id = $1::uuid`, entries[4].eventId);
    await expect(verifyChain(prisma)).resolves.toEqual({
      intact: false,
      entries: 4,
      position: await positionOf(entries[4].eventId),
      eventId: entries[4].eventId,
      why: 'its fields do not match its hash: it was changed',
    });
  });

  it('breaks where someone’s actor was changed, but not where it was erased on request', async () => {
    const entries = await writeLog();
    await expect(log.erase([entries[2].actor!])).resolves.toBe(1);
    await expect(prisma.auditLog.findUniqueOrThrow({ where: { eventId: entries[2].eventId } })).resolves.toMatchObject({
      actor: null,
      ip: null,
    });
    await expect(verifyChain(prisma)).resolves.toMatchObject({ intact: true, entries: 10 });
    await behindTheService(`UPDATE audit_log SET actor = 'someone@else.example' WHERE event_id = $1::uuid`, entries[6].eventId);
    await expect(verifyChain(prisma)).resolves.toMatchObject({
      intact: false,
      eventId: entries[6].eventId,
      why: 'its actor or ip was changed',
    });
  });

  it('breaks after an entry that was removed, and where the tail was cut off', async () => {
    const entries = await writeLog();
    await behindTheService(`DELETE FROM audit_log WHERE event_id = $1::uuid`, entries[9].eventId);
    await expect(verifyChain(prisma)).resolves.toMatchObject({
      intact: false,
      position: null,
      why: expect.stringMatching(/cut off its end/),
    });
    await behindTheService(`DELETE FROM audit_log WHERE event_id = $1::uuid`, entries[3].eventId);
    await expect(verifyChain(prisma)).resolves.toMatchObject({
      intact: false,
      entries: 3,
      eventId: entries[4].eventId,
      why: expect.stringMatching(/an entry was removed or inserted before it/),
    });
  });

  it('npm run audit:verify says so, and exits 1 on a broken chain', async () => {
    const entries = await writeLog();
    const verify = () => run('npm', ['run', '--silent', 'audit:verify'], { env: { ...process.env, AUDIT_DATABASE_URL: db.url } });
    await expect(verify()).resolves.toMatchObject({
      stdout: expect.stringMatching(/^audit chain intact: 10 entries; head [0-9a-f]{64}\n$/),
    });
    await behindTheService(`UPDATE audit_log SET payload_hash = 'forged' WHERE event_id = $1::uuid`, entries[7].eventId);
    const failed = await verify().catch((error: { code: number; stdout: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stdout: string }).stdout).toContain(`AUDIT CHAIN BROKEN at position ${await positionOf(entries[7].eventId)}`);
  });
});
