import { createDatabaseIfMissing, dropDatabase, migrate, withDatabase } from '@boxoffice/database';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { uniqueName } from './unique-name.js';

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

const server = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** A fresh database for one spec, with the given SQL files applied; `drop` removes it. */
export async function createTestDatabase(prefix: string, sqlFiles: ReadonlyArray<string | URL> = []): Promise<TestDatabase> {
  const url = withDatabase(server, uniqueName(prefix));
  await createDatabaseIfMissing(url);
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled connection that the server closes (DROP DATABASE ... WITH (FORCE) at teardown)
  // is reported as a pool 'error' event; unheard, it would crash the test process. A query on a
  // broken connection still fails on its own.
  pool.on('error', () => {});
  for (const file of sqlFiles) await pool.query(await readFile(file, 'utf8'));
  return {
    url,
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(url);
    },
  };
}

/** A fresh database for one spec with a service's committed migrations applied, as at its start. */
export async function createMigratedTestDatabase(prefix: string, migrationsDir: string): Promise<TestDatabase> {
  const database = await createTestDatabase(prefix);
  await migrate({ databaseUrl: database.url, migrationsDir });
  return database;
}
