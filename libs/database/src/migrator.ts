import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { readMigrations, type Migration } from './migrations.js';
import { grantRuntimeRole } from './runtime-role.js';

export interface MigrateOptions {
  readonly databaseUrl: string;
  /** A service's `prisma/migrations` folder. */
  readonly migrationsDir: string;
  /**
   * The account the service runs with, when it is not the one that migrates (`databaseUrl`, the
   * tables' owner): after migrating, its role gets what a running service needs (runtimeRole.ts)
   * and no more, so that it cannot alter, disable or drop what the owner made (Audit's
   * append-only guard).
   */
  readonly runtimeUrl?: string;
  readonly log?: (line: string) => void;
}

export interface MigrateResult {
  readonly applied: string[];
  readonly alreadyApplied: string[];
}

// The same table `prisma migrate deploy` keeps. Applying the committed SQL ourselves needs no
// Prisma schema engine (which not every machine can download), and because the record is
// Prisma's own, either tool sees what the other applied.
const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

/** Any constant works; it only has to be the same for every instance of every service. */
const MIGRATION_LOCK_KEY = 72_707_370;

/**
 * Applies the committed migrations that the database has not seen, each in its own transaction,
 * under an advisory lock so that several instances starting at once migrate exactly once.
 * Creates the database first when the server lacks it (the native setup; docker-compose's
 * init script creates them with their own roles).
 */
export async function migrate({ databaseUrl, migrationsDir, runtimeUrl, log = () => {} }: MigrateOptions): Promise<MigrateResult> {
  await createDatabaseIfMissing(databaseUrl, log);
  const migrations = await readMigrations(migrationsDir);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const recorded = await appliedChecksums(client);
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const checksum = recorded.get(migration.name);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new Error(`migration ${migration.name} was changed after it was applied: add a new migration instead`);
        }
        result.alreadyApplied.push(migration.name);
        continue;
      }
      await apply(client, migration);
      log(`applied migration ${migration.name}`);
      result.applied.push(migration.name);
    }
    if (runtimeUrl !== undefined) await grantRuntimeRole(client, runtimeUrl, log);
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}

async function appliedChecksums(client: pg.Client): Promise<Map<string, string>> {
  const { rows } = await client.query<{ migration_name: string; checksum: string }>(
    `SELECT migration_name, checksum FROM "_prisma_migrations"
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return new Map(rows.map((row) => [row.migration_name, row.checksum]));
}

async function apply(client: pg.Client, migration: Migration): Promise<void> {
  const startedAt = new Date();
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, now(), $3, $4, 1)`,
      [randomUUID(), migration.checksum, migration.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Creates the database named in the URL when the server does not have it yet. */
export async function createDatabaseIfMissing(databaseUrl: string, log: (line: string) => void = () => {}): Promise<void> {
  await onServer(databaseUrl, async (admin, database) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount !== 0) return;
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
      // Another instance created it between our check and our CREATE: that is fine.
      const createdMeanwhile = error.code === '42P04' || error.code === '23505';
      if (!createdMeanwhile) throw error;
    });
    log(`created database ${database}`);
  });
}

/** SQLSTATE of a DROP DATABASE that other sessions are still connected to. */
const STILL_IN_USE = '55006';
/** How long a drop waits for the last connections to close by themselves before it ends them. */
const CLOSING_GRACE_MS = 2_000;

/**
 * Drops the database named in the URL: once its last connections have closed, or by force after
 * CLOSING_GRACE_MS. A pool's end() resolves while its connections are still closing; ended by
 * force in that moment, such a connection reports the termination as an error its pool no longer
 * listens for, which ends the process that owned it.
 */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  await onServer(databaseUrl, async (admin, database) => {
    const drop = `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)}`;
    const deadline = performance.now() + CLOSING_GRACE_MS;
    while (performance.now() < deadline) {
      const inUse = await admin.query(drop).then(
        () => false,
        (error: { code?: string }) => {
          if (error.code !== STILL_IN_USE) throw error;
          return true;
        },
      );
      if (!inUse) return;
      await delay(50);
    }
    await admin.query(`${drop} WITH (FORCE)`);
  });
}

/** Runs `work` on the server's maintenance database, with the name of the database in the URL. */
async function onServer<T>(databaseUrl: string, work: (admin: pg.Client, database: string) => Promise<T>): Promise<T> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    return await work(admin, database);
  } finally {
    await admin.end();
  }
}
