import { channelNames, type ServiceName } from '@boxoffice/contracts';
import type { Logger, RetryPolicy, Transport, TransportName } from '@boxoffice/messaging';
import { KafkaTransport } from '@boxoffice/messaging-kafka';
import { RabbitMqTransport } from '@boxoffice/messaging-rabbitmq';
import type { BrokerSettings } from './broker.settings.js';

/**
 * Heartbeats per session timeout. kafkajs heartbeats from the consume loop (between chunks), not
 * from a thread of its own, so a slow chunk delays them: ten chances per session leave a chunk
 * nine tenths of the timeout before a live member is thrown out, and a rebalance reaches the live
 * members within one interval. Kafka's usual ratio is a third.
 */
const HEARTBEATS_PER_SESSION = 10;

export interface TransportSetup {
  /** Who connects: a service, or a tool (`dlq-tool`); brokers show it as the client's name. */
  readonly client: ServiceName | string;
  readonly brokers: BrokerSettings;
  /** The namespace whose exchanges, queues and topics to use (BOXOFFICE_NAMESPACE). */
  readonly namespace: string;
  readonly retryPolicy: RetryPolicy;
  /** Topic partitions or stream shards for the channels this transport creates. */
  readonly partitions?: number;
  readonly logger: Logger;
}

/** The names a deployment can choose, and the one place that turns a name into an adapter. */
export const transportNames = ['rabbitmq', 'kafka'] as const;

export function createTransport(name: TransportName, setup: TransportSetup): Transport {
  const { client, brokers, retryPolicy, logger } = setup;
  switch (name) {
    case 'rabbitmq':
      return new RabbitMqTransport({ url: brokers.rabbitmqUrl, name: client, exchange: channelNames(setup.namespace).exchanges.commands, retryPolicy, logger });
    case 'kafka':
      return new KafkaTransport({
        brokers: brokers.kafkaBrokers,
        clientId: client,
        partitions: setup.partitions ?? 3,
        consumer: {
          sessionTimeoutMs: brokers.kafkaSessionTimeoutMs,
          heartbeatIntervalMs: Math.floor(brokers.kafkaSessionTimeoutMs / HEARTBEATS_PER_SESSION),
        },
        logger,
      });
    default:
      throw new Error(`no transport named ${name} (known: ${transportNames.join(', ')})`);
  }
}
