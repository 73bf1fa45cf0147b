import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { metricNames } from '@boxoffice/platform';
import { TcpFaultProxy, waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { CheckoutApi } from './checkout-api.js';

// Checkout's database reached through a proxy the spec can break: what a client meets while the
// database is away (a restart, a failover, a partition), and when the front door is full.
describe('the front door, while the database is away', () => {
  const system = new TestSystem();
  let proxy: TcpFaultProxy;
  let checkoutProcess: ServiceProcess;
  let checkout: CheckoutApi;
  let concertId: string;

  const inFlight = async () => {
    const text = await (await fetch(`${checkoutProcess.url}/metrics`)).text();
    return Number(new RegExp(`^${metricNames.acceptInFlight}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  };

  beforeAll(async () => {
    const database = new URL(system.databaseUrl('checkout'));
    proxy = new TcpFaultProxy({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(await proxy.start());
    checkoutProcess = await system.start('checkout', { DATABASE_URL: database.toString(), ACCEPT_MAX_IN_FLIGHT: '3' });
    checkout = new CheckoutApi(checkoutProcess.url);
    concertId = await checkout.scheduleConcert(100);
  });
  afterAll(async () => {
    await system.teardown();
    await proxy.stop();
  });

  it('answers 503 with Retry-After while the database refuses connections, not 500, and 202 again once it is back', async () => {
    proxy.set('reset', { cut: true });

    const purchase = await checkout.placeOrder(concertId, 1);
    expect(purchase.status).toBe(503);
    expect(purchase.headers.get('retry-after')).toBe('2');
    expect(((await purchase.json()) as { message: string }).message).toMatch(/database is not available/);
    const read = await fetch(`${checkoutProcess.url}/orders/${randomUUID()}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('2');

    proxy.set('pass');
    const accepted = await waitFor(
      () => checkout.placeOrder(concertId, 1),
      (response) => response.status === 202,
      { description: 'Checkout to accept orders once the database is back' },
    );
    expect(accepted.status).toBe(202);
  });

  it('admits ACCEPT_MAX_IN_FLIGHT requests and answers the next one 503 at once; the admitted get 503 when the database does not answer', async () => {
    // A database that accepts connections and never answers: the admitted requests wait.
    proxy.set('blackhole', { cut: true });
    const admitted = Array.from({ length: 3 }, () => checkout.placeOrder(concertId, 1));
    await waitFor(inFlight, (n) => n === 3, { description: 'three purchases in flight' });

    const started = Date.now();
    const turnedAway = await checkout.placeOrder(concertId, 1);
    expect(turnedAway.status).toBe(503);
    expect(turnedAway.headers.get('retry-after')).toBe('1');
    expect(((await turnedAway.json()) as { message: string }).message).toMatch(/3 purchases and sign-ups at once/);
    expect(Date.now() - started).toBeLessThan(1_000);

    // The connection timeout ends their wait: an answer, and one that says to come back.
    for (const response of await Promise.all(admitted)) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
    }
    expect(await inFlight()).toBe(0);
    proxy.set('pass');
  });
});
