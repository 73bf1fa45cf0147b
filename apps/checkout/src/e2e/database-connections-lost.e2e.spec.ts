import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

// PostgreSQL can end a service's connections at any moment (a failover, an admin, an idle timeout).
// The pools must notice and reconnect: a connection lost while idle in a pool is reported as an
// event, and an unheard one would crash the service.
describe('when PostgreSQL ends every connection of Checkout and Billing', () => {
  const system = new TestSystem();
  let checkoutProcess: ServiceProcess;
  let billingProcess: ServiceProcess;
  let checkout: CheckoutApi;
  let admin: pg.Pool;
  let concertId: string;

  const terminateConnections = async (service: string) => {
    const database = new URL(system.databaseUrl(service)).pathname.slice(1);
    const { rowCount } = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    return rowCount ?? 0;
  };

  beforeAll(async () => {
    [checkoutProcess, billingProcess] = await Promise.all([
      system.start('checkout'),
      system.start('billing', { PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    checkout = new CheckoutApi(checkoutProcess.url);
    admin = new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 1 });
    concertId = await checkout.scheduleConcert(100);
    const first = await checkout.placeOrders(concertId, 5);
    await waitFor(
      () => Promise.all(first.map((id) => checkout.order(id))),
      (orders) => orders.every((order) => order.status === 'CONFIRMED'),
      { description: 'the first orders to be confirmed' },
    );
  });
  afterAll(async () => {
    await admin.end();
    await system.teardown();
  });

  it('keeps both services running, and the next orders are confirmed', async () => {
    // Both services hold pooled connections (the relay's LISTEN connection among them).
    expect(await terminateConnections('checkout')).toBeGreaterThan(0);
    expect(await terminateConnections('billing')).toBeGreaterThan(0);

    const next = await waitFor(
      () => {
        for (const service of [checkoutProcess, billingProcess]) {
          if (service.child.exitCode !== null) throw new Error(`${service.name} exited:\n${service.output()}`);
        }
        return checkout.placeOrders(concertId, 5);
      },
      (ids) => ids.length === 5,
      { description: 'Checkout to accept orders again' },
    );
    const settled = await waitFor(
      () => Promise.all(next.map((id) => checkout.order(id))),
      (orders) => orders.every((order) => order.status !== 'PENDING'),
      { description: 'the orders placed after the connections were lost to settle' },
    );
    expect(settled.map((order) => order.status)).toEqual(Array(5).fill('CONFIRMED'));
    expect(checkoutProcess.child.exitCode).toBeNull();
    expect(billingProcess.child.exitCode).toBeNull();
  });
});
