import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { developmentSecrets } from '@boxoffice/config';
import { startServiceProcess, TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

const ADMIN = { 'x-admin-key': developmentSecrets.ADMIN_API_KEY };
const SERVICE_TOKEN = { authorization: `Bearer ${developmentSecrets.BILLING_API_TOKEN}` };

// Who may do what over HTTP, against the services as processes: a credential is checked before
// the body is read, and a caller without it changes nothing.
describe('the services’ HTTP doors', () => {
  const system = new TestSystem();
  let checkout: ServiceProcess;
  let billing: ServiceProcess;
  let email: ServiceProcess;
  let audit: ServiceProcess;
  let billingDb: pg.Pool;
  let concertId: string;

  beforeAll(async () => {
    [billing, email, audit] = await Promise.all([
      system.start('billing', { OPS_ACCESS: 'admin-key' }),
      system.start('email'),
      system.start('audit'),
    ]);
    // A limit of 5 a minute, and no address exempt, so the limit is met by this spec's own requests.
    checkout = await system.start('checkout', { BILLING_URL: billing.url, RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_EXEMPT: '' });
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 1 });
    concertId = await new CheckoutApi(checkout.url).scheduleConcert(10);
    await waitFor(
      async () => (await billingDb.query('SELECT 1 FROM seat_inventory WHERE concert_id = $1', [concertId])).rowCount,
      (rows) => rows === 1,
      { description: 'Billing to know the concert' },
    );
  });
  afterAll(async () => {
    await billingDb.end();
    await system.teardown();
  });

  const charge = () => ({ orderId: randomUUID(), concertId, quantity: 1, customerEmail: 'buyer@example.com' });
  const post = (service: ServiceProcess, path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const count = async (sql: string, values: unknown[] = []) => Number((await billingDb.query(sql, values)).rows[0].n);
  const outboxRows = () => count('SELECT count(*) AS n FROM outbox_message');

  describe('Billing’s POST /charges', () => {
    it('answers 401 to anyone but Checkout, the admin included, and charges nothing', async () => {
      const outboxBefore = await outboxRows();
      for (const headers of [{}, ADMIN, { authorization: 'Bearer not-the-token' }] as Array<Record<string, string>>) {
        const request = charge();
        const response = await post(billing, '/charges', JSON.stringify(request), headers);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        await expect(count('SELECT count(*) AS n FROM charge WHERE order_id = $1', [request.orderId])).resolves.toBe(0);
      }
      await expect(outboxRows()).resolves.toBe(outboxBefore);
    });

    it('checks the token before it reads the body: a malformed one is still 401, not 400', async () => {
      await expect(post(billing, '/charges', '{not json').then((r) => r.status)).resolves.toBe(401);
    });

    it('charges for Checkout’s service token', async () => {
      const request = charge();
      const response = await post(billing, '/charges', JSON.stringify(request), SERVICE_TOKEN);
      expect(response.status).toBe(200);
      await expect(response.json()).resolves.toMatchObject({
        orderId: request.orderId,
        status: expect.stringMatching(/CAPTURED|DECLINED/),
      });
    });

    it('and the synchronous purchase, which shows that token, goes through', async () => {
      const response = await new CheckoutApi(checkout.url).placeOrder(concertId, 1, randomUUID(), '/orders/sync');
      expect(response.status).toBe(201);
      // Settled by Billing's answer: confirmed, or declined by the simulated provider (5%).
      await expect(response.json()).resolves.toMatchObject({ status: expect.stringMatching(/CONFIRMED|REJECTED/) });
    });
  });

  describe('personal data and admin routes', () => {
    it.each([
      ['Email', () => email, '/emails?to=buyer@example.com'],
      ['Audit', () => audit, '/audit?type=UserRegistered'],
    ])('%s answers 401 without the admin key, and 200 with it', async (_name, service, path) => {
      expect((await fetch(`${service().url}${path}`)).status).toBe(401);
      expect((await fetch(`${service().url}${path}`, { headers: ADMIN })).status).toBe(200);
      expect((await fetch(`${service().url}${path}`, { headers: { authorization: `Bearer ${ADMIN['x-admin-key']}` } })).status).toBe(200);
    });

    it('erasing a person takes the admin key too', async () => {
      expect((await fetch(`${email.url}/emails?to=buyer@example.com`, { method: 'DELETE' })).status).toBe(401);
      expect((await post(audit, '/audit/erasures', JSON.stringify({ actors: ['buyer@example.com'] }))).status).toBe(401);
      const erased = await post(audit, '/audit/erasures', JSON.stringify({ actors: ['nobody@example.com'] }), ADMIN);
      await expect(erased.json()).resolves.toEqual({ erased: 0 });
    });

    it('POST /concerts checks the key before the body: a malformed body without it is 401', async () => {
      await expect(post(checkout, '/concerts', '{"capacity": "many"}').then((r) => r.status)).resolves.toBe(401);
    });

    it('serves /metrics only with the key where OPS_ACCESS says so', async () => {
      expect((await fetch(`${billing.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${billing.url}/metrics`, { headers: ADMIN })).status).toBe(200);
      expect((await fetch(`${email.url}/metrics`)).status).toBe(200); // OPS_ACCESS=public, the default
    });

    it('tells a client that keeps guessing to wait (429 with Retry-After)', async () => {
      const wrong = { 'x-admin-key': 'guess-guess-guess' };
      const statuses: number[] = [];
      for (let guess = 0; guess < 11; guess++) statuses.push((await fetch(`${audit.url}/audit`, { headers: wrong })).status);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      const told = await fetch(`${audit.url}/audit`, { headers: ADMIN });
      expect(told.status).toBe(429);
      expect(Number(told.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('public routes', () => {
    it('send security headers, and the dashboard a policy that lets only its own script run', async () => {
      const page = await fetch(`${checkout.url}/dashboard`);
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/);
      const api = await fetch(`${checkout.url}/health/live`);
      expect(api.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    });

    it('are limited per client: past RATE_LIMIT_PER_MINUTE, 429 with Retry-After, and health checks are never counted', async () => {
      const orderPath = `/orders/${randomUUID()}`;
      const statuses: number[] = [];
      for (let call = 0; call < 8; call++) statuses.push((await fetch(`${checkout.url}${orderPath}`)).status);
      // Five a minute: the purchase and the dashboard above took two of them.
      expect(statuses.filter((status) => status !== 429).length).toBeLessThanOrEqual(5);
      const limited = await fetch(`${checkout.url}${orderPath}`);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await fetch(`${checkout.url}/health/ready`)).status).toBe(200);
    });
  });

  describe('in production (NODE_ENV=production)', () => {
    it('refuses to start on the development secrets or the brokers’ default accounts, in one line that shows no secret', async () => {
      const service = await startServiceProcess(
        'billing',
        { NODE_ENV: 'production', DATABASE_URL: system.databaseUrl('billing'), RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672' },
        { waitFor: 'nothing' },
      );
      const code = await new Promise<number | null>((resolve) => service.child.once('exit', resolve));
      expect(code).toBe(1);
      const lines = service.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^refused in production/);
      expect(lines[0]).toContain('ADMIN_API_KEY');
      expect(lines[0]).toContain('BILLING_API_TOKEN');
      expect(lines[0]).toMatch(/RABBITMQ_URL uses the broker's development account "guest"/);
      expect(lines[0]).not.toContain(developmentSecrets.ADMIN_API_KEY);
      expect(lines[0]).not.toContain(developmentSecrets.BILLING_API_TOKEN);
    });
  });
});
