import { loadConfig, serviceEnv } from '@boxoffice/config';
import { defaultRetryPolicy, defaultTransports, Routing, silentLogger, type TransportChoice } from '@boxoffice/messaging';
import { createKafkaClient, grantKafkaAcls, kafkaAcls, kafkaAclsOwnedBy, revokeKafkaAcls, withAdmin } from '@boxoffice/messaging-kafka';
import { brokerSettings, createTransport } from '@boxoffice/platform';
import { z } from 'zod';

/**
 * Lets the services of one namespaced system do on the brokers what the catalog lets them do.
 * RabbitMQ's permissions are patterns that take any namespace already (infra:up imports them);
 * Kafka's ACLs name topics and groups exactly, so each namespace gets its own, granted with the
 * operator's account. deleteNamespace revokes them.
 */
export async function grantNamespace(namespace: string, transports: TransportChoice = defaultTransports): Promise<void> {
  if (!Object.values(transports).includes('kafka')) return;
  await withOperatorKafka(namespace, (admin) => grantKafkaAcls(admin, kafkaAcls({ namespace })));
}

async function withOperatorKafka(namespace: string, work: Parameters<typeof withAdmin>[1]): Promise<void> {
  const brokers = brokerSettings(loadConfig(z.object(serviceEnv('cleanup', 1))));
  const kafka = createKafkaClient({
    brokers: brokers.kafkaBrokers,
    clientId: `grants-${namespace}`,
    account: brokers.kafkaAccount,
    logger: silentLogger,
  });
  await withAdmin(kafka, work);
}

/**
 * Deletes what the services of one namespaced system made on the shared brokers of the
 * transports it ran on: each transport deprovisions the namespace's channels (queues with their
 * retry and dead-letter queues, topics and streams with their dead-letter ones, idle consumer
 * groups). Brokers outlive test runs, and durable queues would otherwise pile up run after run.
 */
export async function deleteNamespace(namespace: string, transports: TransportChoice = defaultTransports): Promise<void> {
  if (!namespace) throw new Error('refusing to delete the un-namespaced system');
  // That system's names, as its services' Routing gave them.
  const routing = new Routing({ transports, namespace });
  // The brokers' addresses as the services read them (the environment, else the defaults).
  const brokers = brokerSettings(loadConfig(z.object(serviceEnv('cleanup', 1))));
  await Promise.all(
    [...new Set(Object.values(transports))].map(async (name) => {
      const transport = createTransport(name, {
        client: `cleanup-${namespace}`,
        brokers,
        routing,
        retryPolicy: defaultRetryPolicy,
        logger: silentLogger,
      });
      await transport.connect();
      try {
        await transport.deprovision(routing.channelsOn(name).map(({ channel }) => channel));
      } finally {
        await transport.close();
      }
      if (name === 'kafka') await withOperatorKafka(namespace, (admin) => revokeKafkaAcls(admin, kafkaAclsOwnedBy(namespace)));
    }),
  );
}
