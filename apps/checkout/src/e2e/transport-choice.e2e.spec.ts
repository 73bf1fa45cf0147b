import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { developmentSecrets } from '@boxoffice/config';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { TestSmtpServer, waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { CheckoutApi } from './checkout-api.js';

// The same five services on each pair of transports a deployment can choose: commands through a
// broker (RabbitMQ, ActiveMQ Artemis, SQS or NATS JetStream), events through a log (Kafka,
// Kinesis or NATS JetStream). Nothing but COMMAND_TRANSPORT and EVENT_TRANSPORT differs between the runs.
const pairs = [
  { command: 'rabbitmq', event: 'kafka' },
  { command: 'activemq', event: 'kafka' },
  { command: 'sqs', event: 'kinesis' },
  { command: 'nats', event: 'nats' },
] as const;

describe.each(pairs)('the whole system with commands on $command and events on $event', ({ command, event }) => {
  const system = new TestSystem({ DATABASE_POOL_SIZE: '4', COMMAND_TRANSPORT: command, EVENT_TRANSPORT: event });
  const inbox = new TestSmtpServer();
  let checkout: CheckoutApi;
  let checkoutProcess: ServiceProcess;
  let billing: ServiceProcess;
  let email: ServiceProcess;
  let analytics: ServiceProcess;
  let audit: ServiceProcess;

  beforeAll(async () => {
    const smtp = await inbox.start();
    [checkoutProcess, billing, email, analytics, audit] = await Promise.all([
      system.start('checkout'),
      system.start('billing', { PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
      system.start('email', { SMTP_URL: smtp }),
      system.start('analytics'),
      system.start('audit'),
    ]);
    checkout = new CheckoutApi(checkoutProcess.url);
  });
  afterAll(async () => {
    await system.teardown();
    await inbox.stop();
  });

  it(`consumes through ${command} and ${event}, as the readiness checks name them`, async () => {
    expect(Object.keys(await readiness(billing))).toEqual(expect.arrayContaining([command, `${command} consumer`, event]));
    for (const subscriber of [email, analytics, audit]) {
      expect(Object.keys(await readiness(subscriber))).toEqual(expect.arrayContaining([event, `${event} consumer`]));
    }
  });

  it('sells exactly the seats there are: the ticket sale through Billing, the rest turned away at the door', async () => {
    const concertId = await checkout.scheduleConcert(5);
    const responses = await Promise.all(Array.from({ length: 8 }, () => checkout.placeOrder(concertId, 1)));
    expect(responses.map((r) => r.status).sort()).toEqual([...Array(5).fill(202), ...Array(3).fill(409)]);
    const accepted = responses.filter((r) => r.status === 202);
    const ids = await Promise.all(accepted.map(async (r) => ((await r.json()) as { orderId: string }).orderId));

    const orders = await Promise.all(
      ids.map((id) =>
        waitFor(
          () => checkout.order(id),
          (order) => order.status !== 'PENDING',
          { description: `order ${id} to settle` },
        ),
      ),
    );
    expect(orders.map((o) => o.status)).toEqual(Array(5).fill('CONFIRMED'));
  });

  it('fans a sign-up out to Email, Analytics and Audit, each once', async () => {
    const address = `${randomUUID()}@example.com`;
    const response = await fetch(`${checkoutProcess.url}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: address, name: 'Grace' }),
    });
    expect(response.status).toBe(202);
    const { userId } = (await response.json()) as { userId: string };

    const mails = await waitFor(
      () => inbox.to(address),
      (sent) => sent.length > 0,
      { description: `the welcome mail to ${address}` },
    );
    expect(mails).toEqual([expect.objectContaining({ subject: 'Welcome to boxoffice, Grace' })]);
    const entries = await waitFor(
      async () => ((await get(audit, `/audit?actor=${userId}`)) as { entries: Array<{ type: string }> }).entries,
      (found) => found.length > 0,
      { description: 'the audit entry' },
    );
    expect(entries).toEqual([expect.objectContaining({ type: 'UserRegistered' })]);
    await waitFor(
      async () => ((await get(analytics, '/stats')) as { signups: { total: number } }).signups.total,
      (total) => total >= 1,
      { description: 'Analytics to count the sign-up' },
    );
    expect(((await get(analytics, '/stats')) as { signups: { total: number } }).signups.total).toBe(1);
  });
});

async function readiness(service: ServiceProcess): Promise<Record<string, { status: string }>> {
  const { info } = (await get(service, '/health/ready')) as { info: Record<string, { status: string }> };
  return info;
}

/** With the development admin key: the audit log and the mails are personal data, for the operator only. */
async function get(service: ServiceProcess, path: string): Promise<unknown> {
  const response = await fetch(`${service.url}${path}`, { headers: { 'x-admin-key': developmentSecrets.ADMIN_API_KEY } });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response.json();
}
