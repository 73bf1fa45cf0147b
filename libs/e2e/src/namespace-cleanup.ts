import { loadConfig, serviceEnv } from '@boxoffice/config';
import { defaultRetryPolicy, defaultTransports, Routing, silentLogger, type TransportChoice } from '@boxoffice/messaging';
import { brokerSettings, createTransport } from '@boxoffice/platform';
import { z } from 'zod';

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
    }),
  );
}
