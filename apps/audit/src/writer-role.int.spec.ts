import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrate } from '@boxoffice/database';
import { createTestDatabase, uniqueName, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { auditWriterUrl } from './audit.config.js';

const MIGRATIONS = 'apps/audit/prisma/migrations';

// The append-only guard is a trigger, and PostgreSQL lets a table's owner (or a superuser) alter,
// disable or drop its triggers. So Audit migrates as the owner and runs as a writer that owns
// nothing: whoever holds the service's password can append to the log, and not switch its guard off.
describe('Audit’s writer, the role the service runs as', () => {
  let db: TestDatabase;
  let owner: pg.Client;
  let writer: pg.Client;
  const role = uniqueName('audit_writer');

  beforeAll(async () => {
    db = await createTestDatabase('audit_writer');
    const writerUrl = auditWriterUrl({ DATABASE_URL: db.url, DATABASE_WRITER_URL: withUser(db.url, role) });
    await migrate({ databaseUrl: db.url, migrationsDir: MIGRATIONS, runtimeUrl: writerUrl });
    owner = new pg.Client({ connectionString: db.url });
    writer = new pg.Client({ connectionString: writerUrl });
    await Promise.all([owner.connect(), writer.connect()]);
  });
  afterAll(async () => {
    await writer?.end();
    await owner?.end();
    await db.drop();
    const server = new pg.Client({ connectionString: withDatabase(db.url, 'postgres') });
    await server.connect();
    await server.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    await server.end();
  });

  const append = (client: pg.Client) =>
    client.query(
      `INSERT INTO audit_log (event_id, type, topic, actor, occurred_at, payload_hash) VALUES ($1, 'UserRegistered', 'boxoffice.users', 'u1', now(), 'abc')`,
      [randomUUID()],
    );

  it('is made by the migration, owns nothing, and may append to the log', async () => {
    const { rows } = await owner.query<{ tableowner: string }>(`SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'`);
    expect(rows[0].tableowner).not.toBe(role);
    await expect(append(writer)).resolves.toMatchObject({ rowCount: 1 });
  });

  it.each([
    'ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only',
    'DROP TRIGGER audit_log_append_only ON audit_log',
    'DROP FUNCTION audit_log_refuse_change() CASCADE',
    'ALTER TABLE audit_log DROP COLUMN payload_hash',
  ])('cannot switch the guard off: %s', async (statement) => {
    await expect(writer.query(statement)).rejects.toThrow(/must be owner/);
  });

  it('cannot change history, nor the record of the migrations', async () => {
    await expect(writer.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(writer.query(`DELETE FROM "_prisma_migrations"`)).rejects.toThrow(/permission denied/);
  });

  it('is what the owner alone could do: the guard is only as strong as its owner is kept apart', async () => {
    await owner.query('BEGIN');
    try {
      await owner.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
      await expect(owner.query(`UPDATE audit_log SET actor = 'someone else'`)).resolves.toMatchObject({ rowCount: expect.any(Number) });
    } finally {
      await owner.query('ROLLBACK');
    }
  });
});

function withUser(databaseUrl: string, user: string): string {
  const url = new URL(databaseUrl);
  url.username = user;
  url.password = '';
  return url.toString();
}

function withDatabase(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
