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
  /** The project's vhost, as the operator's account (guest, the broker's own): tools and specs. Each service has an account of its own (`serviceBrokerUrl`). */
  RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672/boxoffice',
  KAFKA_BROKERS: '127.0.0.1:9092',
  /** The operator's SASL/SCRAM account on Kafka, a super user: tools and specs. Each service has an account of its own (`kafkaAccountOf`). */
  KAFKA_USERNAME: 'boxoffice-operator',
  KAFKA_PASSWORD: 'operator-development',
  /** ActiveMQ Artemis over AMQP 1.0, as the operator's account (the broker's own, infra:up creates it): tools and specs. Each service has an account of its own (`serviceBrokerUrl`). */
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

/** The services that hold an account of their own on the brokers: every service the catalog names (a spec checks the two agree). */
export const accountHolders = ['checkout', 'billing', 'email', 'analytics', 'audit'] as const;

/**
 * A service's development account on RabbitMQ, Kafka and Artemis: infra:up creates it, with the
 * permissions the catalog gives the service (tools/infra/rabbitmq/definitions.json,
 * tools/infra/kafka/acls.json and tools/infra/artemis/broker.properties, written by npm run
 * brokers:accounts). Production refuses it, as it refuses guest.
 */
export function developmentAccountOf(service: string): { readonly user: string; readonly password: string } {
  return { user: `boxoffice-${service}`, password: `${service}-development` };
}

/**
 * Where a service finds a broker when the environment does not say: for RabbitMQ and Artemis,
 * with the service's own development account; for a tool (a name that holds no account), the
 * operator's.
 */
export function serviceBrokerUrl(setting: 'RABBITMQ_URL' | 'ACTIVEMQ_URL', service: string): string {
  if (!holdsAccount(service)) return brokerDefaults[setting];
  const url = new URL(brokerDefaults[setting]);
  const { user, password } = developmentAccountOf(service);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** Whether a name is a service's (it holds accounts of its own) rather than a tool's. */
function holdsAccount(name: string): boolean {
  return (accountHolders as ReadonlyArray<string>).includes(name);
}

/** The operator's Kafka account (a super user), as tools and specs sign in: KAFKA_USERNAME and KAFKA_PASSWORD, else the development one. */
export function operatorKafkaAccount(environment: Record<string, string | undefined> = process.env): {
  readonly user: string;
  readonly password: string;
} {
  return {
    user: environment.KAFKA_USERNAME || brokerDefaults.KAFKA_USERNAME,
    password: environment.KAFKA_PASSWORD || brokerDefaults.KAFKA_PASSWORD,
  };
}

/** The Kafka account a service signs in with when the environment does not say: its own development account; for a tool, the operator's. */
export function kafkaAccountOf(service: string): { readonly user: string; readonly password: string } {
  return holdsAccount(service) ? developmentAccountOf(service) : operatorKafkaAccount({});
}
