import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import amqplib, { type ChannelModel } from 'amqplib';
import { brokerDefaults, serviceBrokerUrl } from '@boxoffice/config';
import { queues, type ServiceName } from '@boxoffice/contracts';
import { Routing, silentLogger } from '@boxoffice/messaging';
import { chargeOrder, fastRetry, uniqueName } from '../test/test-broker.js';
import { deadLetterQueueName } from './rabbitmq.topology.js';
import { RabbitMqTransport } from './rabbitmq.transport.js';

// Each service's own account on this machine's RabbitMQ, as infra:up imported it from the
// catalog (tools/infra/rabbitmq/definitions.json): what the broker lets each one do to Billing's
// queue. The queue and exchange carry a namespace of this spec's own, as an end-to-end system's do.
describe('each service’s own RabbitMQ account, with the permissions the catalog gives it', () => {
  const routing = new Routing({ namespace: uniqueName('permissions') });
  const queue = routing.nameOf(queues.chargeOrder);
  const exchange = routing.commandExchange;
  const transports: RabbitMqTransport[] = [];
  const connections: ChannelModel[] = [];

  /** A transport as the service's runtime builds one, with its development account. */
  async function transportOf(service: ServiceName | 'operator'): Promise<RabbitMqTransport> {
    const url = service === 'operator' ? brokerDefaults.RABBITMQ_URL : serviceBrokerUrl('RABBITMQ_URL', service);
    const transport = new RabbitMqTransport({
      url,
      name: `permissions-spec-${service}`,
      exchange,
      retryPolicy: fastRetry,
      logger: silentLogger,
    });
    transports.push(transport);
    await transport.connect();
    return transport;
  }
  /** A bare AMQP connection with the service's account: what any client holding its password can try. */
  async function connectionOf(service: ServiceName): Promise<ChannelModel> {
    const connection = await amqplib.connect(serviceBrokerUrl('RABBITMQ_URL', service));
    connection.on('error', () => {});
    connections.push(connection);
    return connection;
  }
  /** Runs one AMQP operation on a channel of its own; resolves to the broker's refusal (it closes the channel), or 'allowed'. */
  async function attempt(connection: ChannelModel, operation: (channel: amqplib.ConfirmChannel) => Promise<unknown>): Promise<string> {
    const channel = await connection.createConfirmChannel();
    let refusal = '';
    channel.on('error', (error: Error) => (refusal = /\d{3} \([A-Z-]+\)/.exec(error.message)?.[0] ?? error.message));
    const closed = new Promise((resolve) => channel.once('close', resolve));
    try {
      await operation(channel);
      await channel.close();
      return 'allowed';
    } catch {
      await closed;
      return refusal;
    }
  }
  const publish = (channel: amqplib.ConfirmChannel, to: string, key: string) =>
    new Promise<void>((resolve, reject) => {
      channel.publish(to, key, Buffer.from(JSON.stringify(chargeOrder())), { persistent: true }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  const waiting = async () => (await (await transportOf('operator')).depth(queue, 'billing')).waiting;

  beforeAll(async () => {
    // Billing declares its queue, as its runtime does when it starts.
    await (await transportOf('billing')).provision([queue]);
  });
  afterAll(async () => {
    await (await transportOf('operator')).deprovision([queue]);
    await Promise.all(connections.map((connection) => connection.close().catch(() => {})));
    await Promise.all(transports.map((transport) => transport.close()));
  });

  it('lets Checkout send Billing a ChargeOrder through the commands exchange', async () => {
    const checkout = await transportOf('checkout');
    await checkout.provisionForSending([queue]);
    const before = await waiting();
    await checkout.publish([{ envelope: chargeOrder(), destination: { transport: 'rabbitmq', channel: queue, key: 'k' } }]);
    await expect(waiting()).resolves.toBe(before + 1);
  });

  it('refuses Checkout everything else on Billing’s queue: declaring, reading, emptying its dead letters, writing past the exchange', async () => {
    const checkout = await connectionOf('checkout');
    const arguments_ = { 'x-queue-type': 'quorum' };
    await expect(attempt(checkout, (channel) => channel.assertQueue(queue, { durable: true, arguments: arguments_ }))).resolves.toBe(
      '403 (ACCESS-REFUSED)',
    );
    await expect(attempt(checkout, (channel) => channel.consume(queue, () => {}))).resolves.toBe('403 (ACCESS-REFUSED)');
    await expect(attempt(checkout, (channel) => channel.get(deadLetterQueueName(queue)))).resolves.toBe('403 (ACCESS-REFUSED)');
    await expect(attempt(checkout, (channel) => channel.purgeQueue(queue))).resolves.toBe('403 (ACCESS-REFUSED)');
    await expect(attempt(checkout, (channel) => publish(channel, '', queue))).resolves.toBe('403 (ACCESS-REFUSED)');
  });

  it('lets Billing take its jobs and put one back on its queue', async () => {
    const billing = await connectionOf('billing');
    await expect(attempt(billing, (channel) => publish(channel, exchange, queue))).resolves.toBe('allowed');
    const taken = await attempt(billing, async (channel) => {
      const message = await channel.get(queue);
      if (!message) throw new Error('no message to take');
      channel.ack(message);
    });
    expect(taken).toBe('allowed');
  });

  it.each(['email', 'analytics', 'audit'] as const)('refuses %s the vhost: it cannot send Billing a ChargeOrder', async (service) => {
    const before = await waiting();
    // Its password is taken (a wrong one ends the handshake before this) and the vhost refused:
    // RabbitMQ answers the vhost's opening with a close (NOT_ALLOWED, in its log).
    await expect(amqplib.connect(serviceBrokerUrl('RABBITMQ_URL', service))).rejects.toThrow(
      'Expected ConnectionOpenOk; got <ConnectionClose',
    );
    await expect(waiting()).resolves.toBe(before);
  });
});
