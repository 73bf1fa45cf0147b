import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Migration {
  /** The folder name, e.g. `20261127000000_init`: the order is the name's order. */
  readonly name: string;
  readonly sql: string;
  /** SHA-256 of migration.sql, exactly as Prisma records it, so both tools agree on what ran. */
  readonly checksum: string;
}

/** Reads `<dir>/<name>/migration.sql` for every migration folder, oldest first. */
export async function readMigrations(dir: string): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}
