import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { services } from './services.ts';

// Every service opens its migrations with a copy of the messaging tables. A copy, not a shared
// file, because an applied migration must never change; this test keeps the copies in step with
// libs/messaging/sql/outbox-inbox.sql, which the libs' specs use.
const canonical = readFileSync('libs/messaging/sql/outbox-inbox.sql', 'utf8');

describe.each(services)("%s's migrations", (service) => {
  const dir = `apps/${service}/prisma/migrations`;
  const migrations = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

  it('open with the messaging tables exactly as libs/messaging defines them', () => {
    expect(migrations[0]).toBe('20261127000000_messaging');
    expect(readFileSync(`${dir}/${migrations[0]}/migration.sql`, 'utf8')).toBe(canonical);
  });

  it('are named so that they apply in the order they were written', () => {
    for (const name of migrations) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });
});
