import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig, serviceEnv } from '@boxoffice/config';
import { PaymentCaptured, type ServiceName } from '@boxoffice/contracts';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { defaultRetryPolicy, EnvelopeFactory, silentLogger, type Transport } from '@boxoffice/messaging';
import { brokerSettings, createTransport } from '@boxoffice/platform';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { CheckoutApi } from './checkout-api.js';

// Who may speak on the event log: Checkout confirms an order when PaymentCaptured arrives on the
// payments topic, so anyone who could write there could confirm an unpaid order (and have Email
// mail a receipt). Each service signs in to Kafka with its own account, whose ACLs come from the
// catalog: only Billing may write payments. Billing is not running here, so the order waits.
describe('a PaymentCaptured nobody paid for', () => {
  const system = new TestSystem();
  const transports: Transport[] = [];
  let checkout: ServiceProcess;
  let api: CheckoutApi;
  let orderId: string;
  let concertId: string;

  /** Kafka as a service's runtime reaches it, with that service's development account: what any process holding its password can do. */
  async function speakingAs(service: ServiceName): Promise<Transport> {
    const transport = createTransport('kafka', {
      client: `forger-as-${service}`,
      brokers: brokerSettings(loadConfig(z.object(serviceEnv(service, 1)))),
      routing: system.routing,
      retryPolicy: defaultRetryPolicy,
      logger: silentLogger,
    });
    transports.push(transport);
    await transport.connect();
    return transport;
  }
  const paymentCaptured = () => {
    const envelope = new EnvelopeFactory('billing').create(PaymentCaptured, {
      orderId,
      concertId,
      quantity: 1,
      amountCents: 4_500,
      paymentId: randomUUID(),
    });
    return [{ envelope, destination: system.routing.destinationOf(PaymentCaptured, envelope.payload) }];
  };

  beforeAll(async () => {
    checkout = await system.start('checkout');
    api = new CheckoutApi(checkout.url);
    concertId = await api.scheduleConcert(10);
    const placed = await api.placeOrder(concertId, 1);
    expect(placed.status).toBe(202);
    orderId = ((await placed.json()) as { orderId: string }).orderId;
  });
  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close()));
    await system.teardown();
  });

  it.each(['checkout', 'email'] as const)('is refused by the broker when %s’s account sends it', async (service) => {
    const forger = await speakingAs(service);
    await expect(forger.publish(paymentCaptured())).rejects.toThrow(/authoriz/i);
  });

  it('confirms the order when Billing’s account sends it, and Checkout never saw the forged ones', async () => {
    const billing = await speakingAs('billing');
    await billing.publish(paymentCaptured());
    await waitFor(
      () => api.order(orderId),
      (order) => order.status === 'CONFIRMED',
      { description: 'the order to be confirmed' },
    );
    // Every PaymentCaptured here is keyed by the one order, so all of them share a partition, in
    // the order they were written: had a forged one got in, Checkout would have read it first.
    // A client, not a pool: its end() resolves once the connection is closed, whereas a pool's
    // resolves while its client may still be closing, and the teardown's DROP DATABASE then
    // fails that connection as an error nobody listens to.
    const checkoutDb = new pg.Client({ connectionString: system.databaseUrl('checkout') });
    await checkoutDb.connect();
    try {
      const { rows } = await checkoutDb.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_message WHERE type = 'PaymentCaptured'`);
      expect(rows[0].n).toBe(1);
    } finally {
      await checkoutDb.end();
    }
  });
});
