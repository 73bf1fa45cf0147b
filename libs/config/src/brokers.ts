// The transports a deployment can choose and where each broker is by default: the one list and
// the one set of addresses that the services' configuration, infra:up, the transport factory,
// the tools and the specs all read. No imports, so infra:up (plain Node) can read it too.

/** What may carry commands (point to point: one consumer does the job). */
export const commandTransports = ['rabbitmq', 'activemq', 'sqs', 'nats'] as const;
/** What may carry events (pub/sub: every consuming service gets a copy, and the log can be replayed). */
export const eventTransports = ['kafka', 'kinesis', 'nats'] as const;
/** Every transport boxoffice has. */
export const transportNames = [...new Set([...commandTransports, ...eventTransports])];

/** Where each broker listens when the environment does not say: this machine, as infra:up starts them. */
export const brokerDefaults = {
  RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
  KAFKA_BROKERS: '127.0.0.1:9092',
  /** ActiveMQ Artemis over AMQP 1.0, with the user infra:up creates. */
  ACTIVEMQ_URL: 'amqp://boxoffice:boxoffice@127.0.0.1:61617',
  /** ElasticMQ standing in for SQS. */
  SQS_ENDPOINT: 'http://127.0.0.1:9324',
  /** kinesis-local standing in for Kinesis. */
  KINESIS_ENDPOINT: 'http://127.0.0.1:4568',
  NATS_URL: 'nats://127.0.0.1:4222',
} as const;

/** A broker's address: the environment's setting, else the default. */
export function brokerAddress(setting: keyof typeof brokerDefaults, environment: Record<string, string | undefined> = process.env): string {
  return environment[setting] || brokerDefaults[setting];
}
