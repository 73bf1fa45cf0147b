import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kafkaAccountOf } from '@boxoffice/config';
import { PaymentCaptured, topics, type ServiceName } from '@boxoffice/contracts';
import { EnvelopeFactory, Routing, silentLogger, type OutgoingMessage } from '@boxoffice/messaging';
import { uniqueName } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { grantKafkaAcls, kafkaAcls, revokeKafkaAcls } from './kafka.acls.js';
import { createKafkaClient, withAdmin } from './kafka.client.js';
import { KafkaTransport } from './kafka.transport.js';
import { brokers, operatorAccount, testKafka } from './testing/kafka.fixtures.js';

// Each service's own account on this machine's Kafka (infra:up formats the broker with them), with
// the ACLs the catalog gives it, granted for a namespace of this spec's own as an end-to-end
// system's are: what the broker lets each one do to the payments topic.
describe('each service’s own Kafka account, with the ACLs the catalog gives it', () => {
  const namespace = uniqueName('acls');
  const routing = new Routing({ namespace });
  const payments = routing.nameOf(topics.payments);
  const acls = kafkaAcls({ namespace });
  const operator = testKafka('acls-spec-operator');
  const transports: KafkaTransport[] = [];

  /** A transport as the service's runtime builds one, with its development account. */
  function transportOf(service: ServiceName): KafkaTransport {
    const transport = new KafkaTransport({
      brokers,
      clientId: `acls-spec-${service}`,
      account: kafkaAccountOf(service),
      logger: silentLogger,
    });
    transports.push(transport);
    return transport;
  }
  /** A PaymentCaptured for an order nobody paid for, as a forger would send it. */
  function paymentCaptured(): OutgoingMessage {
    const orderId = randomUUID();
    const envelope = new EnvelopeFactory('billing').create(PaymentCaptured, {
      orderId,
      concertId: randomUUID(),
      quantity: 2,
      amountCents: 9_000,
      paymentId: randomUUID(),
    });
    return { envelope, destination: { transport: 'kafka', channel: payments, key: orderId } };
  }
  /** How many records the payments topic holds: what every consumer of it would read. */
  const recordsOnPayments = () =>
    withAdmin(operator, async (admin) => (await admin.fetchTopicOffsets(payments)).reduce((sum, { high }) => sum + Number(high), 0));

  beforeAll(async () => {
    await withAdmin(operator, (admin) => grantKafkaAcls(admin, acls));
    // Billing creates the topic it writes, as its runtime does when it starts.
    const billing = transportOf('billing');
    await billing.connect();
    await billing.provision([payments]);
  });
  afterAll(async () => {
    await Promise.all(transports.map((transport) => transport.close().catch(() => {})));
    const cleanup = new KafkaTransport({ brokers, clientId: 'acls-spec-cleanup', account: operatorAccount, logger: silentLogger });
    await cleanup.deprovision([payments]);
    await withAdmin(operator, (admin) => revokeKafkaAcls(admin, acls));
  });

  it('lets Billing publish a PaymentCaptured', async () => {
    const before = await recordsOnPayments();
    await transports[0].publish([paymentCaptured()]);
    await expect(recordsOnPayments()).resolves.toBe(before + 1);
  });

  it.each(['checkout', 'email'] as const)('refuses a PaymentCaptured from %s: it never reaches the topic', async (service) => {
    const forger = transportOf(service);
    await forger.connect();
    const before = await recordsOnPayments();
    await expect(forger.publish([paymentCaptured()])).rejects.toThrow(/authoriz/i);
    await expect(recordsOnPayments()).resolves.toBe(before);
  });

  it('refuses a client that does not sign in', async () => {
    const anonymous = createKafkaClient({ brokers, clientId: 'acls-spec-anonymous', logger: silentLogger });
    const producer = anonymous.producer({ retry: { retries: 0 } });
    const before = await recordsOnPayments();
    await expect(
      (async () => {
        await producer.connect();
        await producer.send({ topic: payments, messages: [{ value: 'forged' }] });
      })(),
    ).rejects.toThrow();
    await producer.disconnect();
    await expect(recordsOnPayments()).resolves.toBe(before);
  });

  it('lets Checkout read payments as its own group, and not as another service’s', async () => {
    const read = async (service: ServiceName, group: string) => {
      const kafka = createKafkaClient({
        brokers,
        clientId: `acls-spec-${service}`,
        account: kafkaAccountOf(service),
        logger: silentLogger,
      });
      const admin = kafka.admin();
      await admin.connect();
      try {
        // The committed offsets of a group on the topic: a read of the group (Describe) and the topic.
        await admin.fetchOffsets({ groupId: group, topics: [payments] });
        return 'allowed';
      } catch (error) {
        return (error as { type?: string }).type ?? (error as Error).name;
      } finally {
        await admin.disconnect();
      }
    };
    await expect(read('checkout', routing.consumerGroupOf('checkout'))).resolves.toBe('allowed');
    // The broker refuses to name another group's coordinator (GROUP_AUTHORIZATION_FAILED), which
    // kafkajs reports as finding none.
    await expect(read('checkout', routing.consumerGroupOf('audit'))).resolves.toBe('KafkaJSGroupCoordinatorNotFound');
    await expect(read('audit', routing.consumerGroupOf('audit'))).resolves.toBe('allowed');
    await expect(read('email', routing.consumerGroupOf('email'))).resolves.toBe('TOPIC_AUTHORIZATION_FAILED');
  });
});
