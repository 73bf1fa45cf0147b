import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig, serviceEnv } from '@boxoffice/config';
import { ChargeOrder, type ServiceName } from '@boxoffice/contracts';
import { TestSystem } from '@boxoffice/e2e';
import { defaultRetryPolicy, EnvelopeFactory, silentLogger, type Transport } from '@boxoffice/messaging';
import { brokerSettings, createTransport } from '@boxoffice/platform';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';

const COMMANDS = { COMMAND_TRANSPORT: 'activemq' };

/** The Artemis transport, with the management API it holds (libs/messaging-activemq's ActiveMqManagement). */
type ArtemisTransport = Transport & {
  readonly management: { call(resource: string, operation: string, parameters?: ReadonlyArray<unknown>): Promise<unknown> };
};

// Who may give Billing work on Artemis: Billing charges whatever ChargeOrder reaches its queue, so
// anyone who could send there could have any buyer charged. Each service signs in to Artemis with
// its own account, whose role comes from the catalog: only Checkout may send to the charge queue,
// and only Billing may read it or look after it.
describe('a ChargeOrder nobody placed, on Artemis', () => {
  const system = new TestSystem({ DATABASE_POOL_SIZE: '4', ...COMMANDS });
  const transports: Transport[] = [];
  let billingDb: pg.Pool;
  let concertId: string;

  /** Artemis as a service's runtime reaches it, with that service's development account: what any process holding its password can do. */
  async function speakingAs(service: ServiceName): Promise<ArtemisTransport> {
    const transport = createTransport('activemq', {
      client: service,
      brokers: brokerSettings(loadConfig(z.object(serviceEnv(service, 1)), COMMANDS)),
      routing: system.routing,
      retryPolicy: defaultRetryPolicy,
      logger: silentLogger,
    });
    transports.push(transport);
    await transport.connect();
    return transport as ArtemisTransport;
  }
  const chargeOrder = (orderId: string) => {
    const envelope = new EnvelopeFactory('checkout').create(ChargeOrder, {
      orderId,
      concertId,
      quantity: 1,
      customerEmail: 'forged@example.com',
    });
    return [{ envelope, destination: system.routing.destinationOf(ChargeOrder, envelope.payload) }];
  };
  const chargesOf = async (orderId: string) =>
    (await billingDb.query<{ status: string }>('SELECT status FROM charge WHERE order_id = $1', [orderId])).rows;

  /** Sends a ChargeOrder for `orderId` with Checkout's account and waits for Billing to charge it. */
  async function chargedWhenCheckoutSends(orderId: string): Promise<void> {
    await (await speakingAs('checkout')).publish(chargeOrder(orderId));
    await waitFor(
      () => chargesOf(orderId),
      (charges) => charges.length === 1,
      { timeoutMs: 30_000, description: `order ${orderId} to be charged` },
    );
  }

  beforeAll(async () => {
    // Checkout schedules the concert (Billing hears of it on the event log), and its first order,
    // charged through the queue, shows that Billing knows it and reads its queue.
    const [checkout] = await Promise.all([
      system.start('checkout', COMMANDS),
      system.start('billing', { ...COMMANDS, PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 1 });
    const admin = { 'content-type': 'application/json', 'x-admin-key': 'local-admin-key' };
    const concert = await fetch(`${checkout.url}/concerts`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'Forgery', startsAt: '2027-06-01T20:00:00Z', capacity: 100, priceCents: 2_000 }),
    });
    expect(concert.status).toBe(201);
    concertId = ((await concert.json()) as { id: string }).id;
    const placed = await fetch(`${checkout.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ concertId, quantity: 1, customerEmail: 'buyer@example.com' }),
    });
    expect(placed.status).toBe(202);
    const { orderId } = (await placed.json()) as { orderId: string };
    await waitFor(
      () => chargesOf(orderId),
      (charges) => charges.length === 1,
      { timeoutMs: 30_000, description: 'Billing to charge the first order' },
    );
  });
  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close()));
    await billingDb?.end();
    await system.teardown();
  });

  it.each(['email', 'audit'] as const)('is refused by the broker when %s’s account sends it, and charges no one', async (service) => {
    const forger = await speakingAs(service);
    const orderId = randomUUID();
    await expect(forger.publish(chargeOrder(orderId))).rejects.toThrow(/does not have permission='SEND'/);
    // Billing still charges the orders it is given (next case); this one never reached it.
    await chargedWhenCheckoutSends(randomUUID());
    expect(await chargesOf(orderId)).toEqual([]);
  });

  it('is charged when Checkout’s account sends it', async () => {
    await chargedWhenCheckoutSends(randomUUID());
  });

  it('lets only Billing read the queue and look after its dead letters, and no service manage the broker', async () => {
    const queue = system.routing.destinationOf(ChargeOrder, { orderId: randomUUID() }).channel;
    const checkout = await speakingAs('checkout');
    const billing = await speakingAs('billing');
    const email = await speakingAs('email');
    // Depths are a reading every service with a part in the queue may make, and no other.
    await expect(checkout.management.call(`queue.${queue}`, 'getMessageCount')).resolves.toEqual(expect.any(Number));
    await expect(email.management.call(`queue.${queue}`, 'getMessageCount')).rejects.toThrow(/does not have permission/);
    await expect(billing.management.call(`queue.${queue}.dlq`, 'removeAllMessages')).resolves.toBe(0);
    await expect(checkout.management.call(`queue.${queue}.dlq`, 'removeAllMessages')).rejects.toThrow(/does not have permission='EDIT'/);
    await expect(billing.management.call('broker', 'destroyQueue', [queue, true, true])).rejects.toThrow(/does not have permission='EDIT'/);
    await expect(
      checkout.management.call('broker', 'addSecuritySettings', ['#', 'checkout', 'checkout', '', '', '', '', 'checkout']),
    ).rejects.toThrow(/permission='EDIT'/);
  });
});
