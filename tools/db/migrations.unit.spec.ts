import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { services } from './services.ts';

// Every service opens its migrations with a copy of the messaging tables, and has a copy of the
// stream checkpoint and lease tables (a stream without consumer groups keeps its cursor there). A
// copy, not a shared file, because an applied migration must never change; this test keeps the
// copies in step with libs/messaging/sql/outbox-inbox.sql and stream-checkpoints.sql, which the
// libs' specs use.
const canonical = readFileSync('libs/messaging/sql/outbox-inbox.sql', 'utf8');
const streamCheckpoints = readFileSync('libs/messaging/sql/stream-checkpoints.sql', 'utf8');
const outboxParking = readFileSync('libs/messaging/sql/outbox-parking.sql', 'utf8');
const outboxNotifyTransport = readFileSync('libs/messaging/sql/outbox-notify-transport.sql', 'utf8');
const outboxUpkeep = readFileSync('libs/messaging/sql/outbox-upkeep.sql', 'utf8');

describe.each(services)("%s's migrations", (service) => {
  const dir = `apps/${service}/prisma/migrations`;
  const migrations = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();

  it('open with the messaging tables exactly as libs/messaging defines them', () => {
    expect(migrations[0]).toBe('20261127000000_messaging');
    expect(readFileSync(`${dir}/${migrations[0]}/migration.sql`, 'utf8')).toBe(canonical);
  });

  it('hold the stream checkpoints and leases exactly as libs/messaging defines them', () => {
    expect(migrations).toContain('20261201000000_stream_checkpoints');
    expect(readFileSync(`${dir}/20261201000000_stream_checkpoints/migration.sql`, 'utf8')).toBe(streamCheckpoints);
  });

  it('park refused outbox messages exactly as libs/messaging defines it', () => {
    expect(migrations).toContain('20261202000000_outbox_parking');
    expect(readFileSync(`${dir}/20261202000000_outbox_parking/migration.sql`, 'utf8')).toBe(outboxParking);
  });

  it("notify the outbox's transports exactly as libs/messaging defines it", () => {
    expect(migrations).toContain('20261206000000_outbox_notify_transport');
    expect(readFileSync(`${dir}/20261206000000_outbox_notify_transport/migration.sql`, 'utf8')).toBe(outboxNotifyTransport);
  });

  it("keep the outbox's upkeep exactly as libs/messaging defines it", () => {
    expect(migrations).toContain('20261207000000_outbox_upkeep');
    expect(readFileSync(`${dir}/20261207000000_outbox_upkeep/migration.sql`, 'utf8')).toBe(outboxUpkeep);
  });

  it('are named so that they apply in the order they were written', () => {
    for (const name of migrations) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
  });
});
