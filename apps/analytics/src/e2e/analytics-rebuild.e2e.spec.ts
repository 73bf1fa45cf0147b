import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import pg from 'pg';

interface Stats {
  signups: { total: number };
  sales: { confirmed: number; rejected: number; declined: number };
}

/** Runs `npm run analytics:rebuild` against this system, as an operator would. */
async function rebuild(system: TestSystem): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'tools/analytics/rebuild.ts'], {
    env: { ...process.env, BOXOFFICE_NAMESPACE: system.namespace, ANALYTICS_DATABASE_URL: system.databaseUrl('analytics') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const [code] = await once(child, 'exit');
  return { code, output };
}

// Analytics' numbers are a projection of the event log: thrown away, they come back the same from
// the events Kafka retained, read again through the same handlers.
describe('rebuilding Analytics from the event log', () => {
  const system = new TestSystem();
  let checkout: ServiceProcess;
  let analytics: ServiceProcess;
  let analyticsDb: pg.Pool;
  let before: Stats;

  const stats = async () => (await (await fetch(`${analytics.url}/stats`)).json()) as Stats;
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${checkout.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    [checkout, analytics] = await Promise.all([
      system.start('checkout'),
      system.start('analytics'),
      // Half the payments declined: the log then holds confirmed orders, rejected ones and declines.
      system.start('billing', { PAYMENT_DECLINE_RATE: '0.5', PAYMENT_LATENCY_MS: '1' }),
    ]);
    analyticsDb = new pg.Pool({ connectionString: system.databaseUrl('analytics'), max: 2 });

    const concert = await post('/concerts', { name: 'Replay', startsAt: '2027-06-01T20:00:00Z', capacity: 100, priceCents: 2_500 }, { 'x-admin-key': 'local-admin-key' });
    const { id: concertId } = (await concert.json()) as { id: string };
    for (let i = 0; i < 4; i += 1) await post('/users', { email: `${randomUUID()}@example.com`, name: 'Ada' });
    for (let i = 0; i < 12; i += 1) await post('/orders', { concertId, quantity: 1 + (i % 3), customerEmail: 'ada@example.com' }, { 'idempotency-key': randomUUID() });
    before = await waitFor(stats, (s) => s.signups.total === 4 && s.sales.confirmed + s.sales.rejected === 12, {
      description: 'Analytics to count 4 sign-ups and 12 settled orders',
    });
  });
  afterAll(async () => {
    await analyticsDb.end();
    await system.teardown();
  });

  const rows = async (table: string) => Number((await analyticsDb.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  describe('while Analytics is running', () => {
    it('refuses, says why, and changes nothing', async () => {
      const { code, output } = await rebuild(system);
      expect(code).toBe(1);
      expect(output).toMatch(/Analytics is still consuming: consumer group \S+ has 1 member\(s\).*Nothing was changed\./s);
      expect(await stats()).toEqual(before);
    });
  });

  describe('once Analytics is stopped', () => {
    it('empties the projections, and the restarted service counts the same numbers again from the log', async () => {
      expect(before.sales.declined).toBeGreaterThan(0);
      await analytics.stop();

      const { code, output } = await rebuild(system);
      expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('Ready: start Analytics') });
      expect([await rows('daily_signups'), await rows('daily_sales'), await rows('concert_sales'), await rows('inbox_message')]).toEqual([0, 0, 0, 0]);

      analytics = await system.start('analytics');
      await expect(waitFor(stats, (s) => JSON.stringify(s) === JSON.stringify(before), { description: 'the rebuilt numbers' })).resolves.toEqual(before);
    });
  });
});
