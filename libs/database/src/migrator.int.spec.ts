import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dropDatabase, migrate } from './migrator.js';
import { withDatabase } from './database-url.js';

const server = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const databaseUrl = withDatabase(server, `migrator_${randomBytes(4).toString('hex')}`);

async function migrationsDir(migrations: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  for (const [name, sql] of Object.entries(migrations)) {
    await mkdir(join(dir, name));
    await writeFile(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const init = { '20260101000000_init': 'CREATE TABLE thing (id int PRIMARY KEY);' };
const second = { ...init, '20260102000000_more': 'ALTER TABLE thing ADD COLUMN name text;' };

describe('migrate', () => {
  beforeEach(() => dropDatabase(databaseUrl));
  afterAll(() => dropDatabase(databaseUrl));

  it('creates the database and applies every migration in order, recording each as Prisma does', async () => {
    const result = await migrate({ databaseUrl, migrationsDir: await migrationsDir(second) });

    expect(result.applied).toEqual(['20260101000000_init', '20260102000000_more']);
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(result.applied);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum) && r.finished_at !== null)).toBe(true);
    await expect(query('SELECT id, name FROM thing')).resolves.toEqual([]);
  });

  it('applies only what is new on the next run', async () => {
    await migrate({ databaseUrl, migrationsDir: await migrationsDir(init) });
    const result = await migrate({ databaseUrl, migrationsDir: await migrationsDir(second) });
    expect(result).toEqual({ applied: ['20260102000000_more'], alreadyApplied: ['20260101000000_init'] });
  });

  describe('when several instances start at once', () => {
    it('applies each migration exactly once', async () => {
      const dir = await migrationsDir(second);
      const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl, migrationsDir: dir })));
      expect(results.flatMap((r) => r.applied).sort()).toEqual(['20260101000000_init', '20260102000000_more']);
      await expect(query('SELECT count(*)::int AS n FROM "_prisma_migrations"')).resolves.toEqual([{ n: 2 }]);
    });
  });

  describe('when a migration fails', () => {
    it('rolls it back whole and records nothing for it', async () => {
      const dir = await migrationsDir({ ...init, '20260102000000_bad': 'CREATE TABLE half (id int); SELECT nonsense;' });
      await expect(migrate({ databaseUrl, migrationsDir: dir })).rejects.toThrow(/20260102000000_bad failed/);
      await expect(query("SELECT to_regclass('half') AS t")).resolves.toEqual([{ t: null }]);
      await expect(query('SELECT migration_name FROM "_prisma_migrations"')).resolves.toEqual([{ migration_name: '20260101000000_init' }]);
    });
  });

  describe('when an applied migration was edited afterwards', () => {
    it('refuses to go on', async () => {
      await migrate({ databaseUrl, migrationsDir: await migrationsDir(init) });
      const edited = await migrationsDir({ '20260101000000_init': 'CREATE TABLE thing (id bigint PRIMARY KEY);' });
      await expect(migrate({ databaseUrl, migrationsDir: edited })).rejects.toThrow(/was changed after it was applied/);
    });
  });
});

describe('dropDatabase', () => {
  /** A session on the database, and the errors its client reports. */
  const connected = async () => {
    await migrate({ databaseUrl, migrationsDir: await migrationsDir(init) });
    const client = new pg.Client({ connectionString: databaseUrl });
    const errors: Error[] = [];
    const terminated = new Promise<Error>((resolve) =>
      client.on('error', (error) => {
        errors.push(error);
        resolve(error);
      }),
    );
    await client.connect();
    return { client, errors, terminated };
  };
  const exists = async () => {
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [new URL(databaseUrl).pathname.slice(1)]);
      return rowCount === 1;
    } finally {
      await admin.end();
    }
  };

  /** Resolves once a DROP of the database has been tried (and refused: the session is still there). */
  const dropTried = async () => {
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      const drop = `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(databaseUrl).pathname.slice(1))}`;
      for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
        const { rowCount } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE query = $1', [drop]);
        if (rowCount) return;
      }
      throw new Error('no DROP DATABASE was tried within 5 s');
    } finally {
      await admin.end();
    }
  };

  it('waits for a connection that is closing to close, rather than ending it under its owner', async () => {
    const { client, errors } = await connected();
    const dropping = dropDatabase(databaseUrl);
    await dropTried();
    await client.end();
    await dropping;

    expect(errors).toEqual([]);
    await expect(exists()).resolves.toBe(false);
  });

  it('ends, after a grace, a connection that stays open', async () => {
    const { client, terminated } = await connected();
    await dropDatabase(databaseUrl);

    await expect(exists()).resolves.toBe(false);
    await expect(terminated).resolves.toMatchObject({ message: expect.stringMatching(/terminating connection/) });
    await client.end().catch(() => {});
  });
});
