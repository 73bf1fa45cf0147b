import { DEFAULT_INBOX_RETENTION_DAYS, type TransportChoice } from '@boxoffice/messaging';

/** Where a service finds its brokers, which of them carry its commands and its events, and under which names. */
export interface BrokerSettings {
  /** `COMMAND_TRANSPORT` and `EVENT_TRANSPORT`: the one choice a deployment makes (see Routing). */
  readonly transports: TransportChoice;
  /** `BOXOFFICE_NAMESPACE`: the prefix of every queue, exchange, topic and consumer group on the brokers (see Routing); empty for none. */
  readonly namespace: string;
  readonly rabbitmqUrl: string;
  readonly kafkaBrokers: ReadonlyArray<string>;
  /** `KAFKA_USERNAME` and `KAFKA_PASSWORD`: the service's SASL/SCRAM account, whose ACLs say what it may write and read. */
  readonly kafkaAccount: { readonly user: string; readonly password: string };
  /**
   * How long the Kafka group waits for a silent member before moving its partitions
   * (`KAFKA_SESSION_TIMEOUT_MS`, default 10 s: see serviceEnv in libs/config for why). The
   * heartbeat is a tenth of it.
   */
  readonly kafkaSessionTimeoutMs: number;
  readonly activemqUrl: string;
  readonly sqsEndpoint: string;
  readonly sqsQueueType: 'fifo' | 'standard';
  readonly kinesisEndpoint: string;
  readonly awsRegion: string;
  readonly natsUrl: string;
  /** `OUTBOX_MAX_ATTEMPTS`: refusals of one outbox message before the relay parks it. */
  readonly outboxMaxAttempts: number;
  /** `OUTBOX_PUBLISH_TIMEOUT_MS`: how long the relay waits for a broker to confirm a publish before it counts it failed and backs off. */
  readonly outboxPublishTimeoutMs: number;
  /** `INBOX_RETENTION_DAYS` in ms: how long inbox rows are kept (inbox.retention.ts in libs/messaging says why 40 days). */
  readonly inboxRetentionMs: number;
}

/** The broker settings of a service's configuration, as `serviceEnv` in libs/config reads them. */
export interface BrokerConfig {
  readonly COMMAND_TRANSPORT: string;
  readonly EVENT_TRANSPORT: string;
  readonly BOXOFFICE_NAMESPACE: string;
  readonly RABBITMQ_URL: string;
  readonly KAFKA_BROKERS: ReadonlyArray<string>;
  readonly KAFKA_USERNAME: string;
  readonly KAFKA_PASSWORD: string;
  readonly KAFKA_SESSION_TIMEOUT_MS: number;
  readonly ACTIVEMQ_URL: string;
  readonly SQS_ENDPOINT: string;
  readonly SQS_QUEUE_TYPE: 'fifo' | 'standard';
  readonly KINESIS_ENDPOINT: string;
  readonly AWS_REGION: string;
  readonly NATS_URL: string;
  readonly OUTBOX_MAX_ATTEMPTS: number;
  readonly OUTBOX_PUBLISH_TIMEOUT_MS: number;
  readonly INBOX_RETENTION_DAYS?: number;
}

export function brokerSettings(config: BrokerConfig): BrokerSettings {
  return {
    transports: { command: config.COMMAND_TRANSPORT, event: config.EVENT_TRANSPORT },
    namespace: config.BOXOFFICE_NAMESPACE,
    rabbitmqUrl: config.RABBITMQ_URL,
    kafkaBrokers: config.KAFKA_BROKERS,
    kafkaAccount: { user: config.KAFKA_USERNAME, password: config.KAFKA_PASSWORD },
    kafkaSessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    activemqUrl: config.ACTIVEMQ_URL,
    sqsEndpoint: config.SQS_ENDPOINT,
    sqsQueueType: config.SQS_QUEUE_TYPE,
    kinesisEndpoint: config.KINESIS_ENDPOINT,
    awsRegion: config.AWS_REGION,
    natsUrl: config.NATS_URL,
    outboxMaxAttempts: config.OUTBOX_MAX_ATTEMPTS,
    outboxPublishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
    inboxRetentionMs: (config.INBOX_RETENTION_DAYS ?? DEFAULT_INBOX_RETENTION_DAYS) * 24 * 60 * 60 * 1_000,
  };
}
