import { transportNames } from '@boxoffice/config';
import type { ServiceName } from '@boxoffice/contracts';
import {
  pause,
  type Logger,
  type RetryPolicy,
  type Routing,
  type SqlExecutor,
  type Transport,
  type TransportName,
} from '@boxoffice/messaging';
import { ActiveMqTransport } from '@boxoffice/messaging-activemq';
import { KafkaTransport } from '@boxoffice/messaging-kafka';
import { KinesisTransport } from '@boxoffice/messaging-kinesis';
import { NatsTransport } from '@boxoffice/messaging-nats';
import { RabbitMqTransport } from '@boxoffice/messaging-rabbitmq';
import { SqsTransport } from '@boxoffice/messaging-sqs';
import { inTraceContextOf } from '@boxoffice/telemetry';
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
  /** The deployment's routing: the names on the brokers (its namespace's) of the command exchange and of each channel. */
  readonly routing: Routing;
  readonly retryPolicy: RetryPolicy;
  /** Topic partitions or stream shards for the channels this transport creates. */
  readonly partitions?: number;
  /**
   * The database of the service that consumes: a stream without consumer groups (Kinesis) keeps
   * its checkpoints and leases there. Only a consumer of such a stream needs it.
   */
  readonly database?: SqlExecutor;
  readonly logger: Logger;
}

/** An AWS endpoint is the SDK's to choose from the region (and its credentials its usual chain's); any other is a local stand-in. */
const localEndpoint = (url: string): string | undefined => (new URL(url).hostname.endsWith('.amazonaws.com') ? undefined : url);

/** The one place that turns a transport's name (see `transportNames` in libs/config) into an adapter. */
export function createTransport(name: TransportName, setup: TransportSetup): Transport {
  const { client, brokers, routing, retryPolicy, logger } = setup;
  switch (name) {
    case 'rabbitmq':
      return new RabbitMqTransport({
        url: brokers.rabbitmqUrl,
        name: client,
        exchange: routing.commandExchange,
        retryPolicy,
        // Each message published under its own trace: amqplib's instrumentation starts its span there.
        publishUnder: inTraceContextOf,
        logger,
      });
    case 'kafka':
      return new KafkaTransport({
        brokers: brokers.kafkaBrokers,
        clientId: client,
        account: brokers.kafkaAccount,
        partitions: setup.partitions ?? 3,
        consumer: {
          sessionTimeoutMs: brokers.kafkaSessionTimeoutMs,
          heartbeatIntervalMs: Math.floor(brokers.kafkaSessionTimeoutMs / HEARTBEATS_PER_SESSION),
        },
        logger,
      });
    case 'activemq':
      return new ActiveMqTransport({ url: brokers.activemqUrl, name: client, retryPolicy, logger });
    case 'sqs':
      return new SqsTransport({
        endpoint: localEndpoint(brokers.sqsEndpoint),
        region: brokers.awsRegion,
        queueType: brokers.sqsQueueType,
        retryPolicy,
        logger,
      });
    case 'kinesis':
      return new KinesisTransport({
        endpoint: localEndpoint(brokers.kinesisEndpoint),
        region: brokers.awsRegion,
        database: setup.database,
        shards: setup.partitions,
        logger,
      });
    case 'nats': {
      // A work queue or a log, on one server: the kind of the messages the catalog puts on each channel says which.
      const commands = new Set(
        routing
          .channelsOn(name)
          .filter(({ kind }) => kind === 'command')
          .map(({ channel }) => channel),
      );
      return new NatsTransport({
        servers: brokers.natsUrl,
        name: client,
        retryPolicy,
        logger,
        kindOf: (channel) => (commands.has(channel) ? 'command' : 'event'),
      });
    }
    default:
      throw new Error(`no transport named ${name} (known: ${transportNames.join(', ')})`);
  }
}

/**
 * Connects, or fails in one line within `timeoutMs`. A service waits for its brokers for as long
 * as it takes; a tool run by hand (the dlq tool, a rebuild, a bench) must say at once that one is
 * not there instead of waiting in silence. `close()` ends a connect still trying.
 */
export async function connectWithin(transport: Transport, timeoutMs = 10_000): Promise<void> {
  const timer = new AbortController();
  const timedOut = pause(timeoutMs, timer.signal).then((elapsed) => {
    if (elapsed)
      throw new Error(`${transport.name} did not answer within ${timeoutMs / 1000} s: is it running? (npm run infra:up starts it)`);
  });
  try {
    await Promise.race([transport.connect(), timedOut]);
  } finally {
    timer.abort();
  }
}
