import { isIP } from 'node:net';
import { z } from 'zod';
import { brokerDefaults, commandTransports, eventTransports, kafkaAccountOf, serviceBrokerUrl } from './brokers.js';

// Building blocks for the services' configuration schemas. Every default points at 127.0.0.1,
// so a service runs natively without a .env file; docker-compose.yml overrides them.

/**
 * The secrets a service has a development default for, so that `npm start` runs with no
 * configuration at all. With NODE_ENV=production (the Docker image's) a service refuses to start
 * on any of them (loadConfig).
 */
export const developmentSecrets = {
  /** The operator's credential: admin routes, personal data, and /docs and /metrics where OPS_ACCESS says so. */
  ADMIN_API_KEY: 'local-admin-key',
  /** The service token Checkout's synchronous path shows Billing's POST /charges. */
  BILLING_API_TOKEN: 'local-billing-token',
} as const;

export type SecretSetting = keyof typeof developmentSecrets;

/** A URL of one of these protocols. */
function urlOf(protocols: ReadonlyArray<string>) {
  return z.string().refine((value) => URL.canParse(value) && protocols.includes(new URL(value).protocol), {
    message: `expected a ${protocols.map((p) => p.replace(/:$/, '')).join(' or ')} URL`,
  });
}

export const env = {
  /** A secret, at least 12 characters; its development default is refused in production. */
  secret: (name: SecretSetting) => z.string().min(12, { message: 'expected at least 12 characters' }).default(developmentSecrets[name]),

  port: (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback),

  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),

  nonNegativeNumber: (fallback: number) => z.coerce.number().nonnegative().default(fallback),

  url: (protocols: ReadonlyArray<string>, fallback: string) => urlOf(protocols).default(fallback),

  /** A URL that may be left unset: the caller says what stands in for it. */
  optionalUrl: (protocols: ReadonlyArray<string>) => urlOf(protocols).optional(),

  /** A comma-separated list of host:port pairs, such as Kafka's bootstrap brokers. */
  hostPorts: (fallback: string) =>
    z
      .string()
      .default(fallback)
      .refine((value) => value.split(',').every((hp) => /^[\w.-]+:\d{1,5}$/.test(hp.trim())), {
        message: 'expected host:port[,host:port...]',
      })
      .transform((value) => value.split(',').map((hp) => hp.trim())),

  logLevel: () => z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
} as const;

/** The settings every service shares: where it listens, its database and its brokers. */
export function serviceEnv(service: string, port: number) {
  return {
    /** `production` (the Docker image's) refuses development defaults of secrets and brokers' accounts. */
    NODE_ENV: z.string().default('development'),
    ADMIN_API_KEY: env.secret('ADMIN_API_KEY'),
    /**
     * Who may read /docs and /metrics: anyone (`public`, for a laptop), or only a caller with the
     * admin key, as `x-admin-key` or `Authorization: Bearer` (`admin-key`: compose, whose
     * Prometheus scrapes with the key).
     */
    OPS_ACCESS: z.enum(['public', 'admin-key']).default('public'),
    /**
     * Requests a minute one client (one IP address) may make to the public routes; beyond, 429
     * with Retry-After. A buyer makes a few; a load test from one machine is one client, and sets
     * it higher (the benches do). 0: no limit.
     */
    RATE_LIMIT_PER_MINUTE: z.coerce.number().int().nonnegative().default(6_000),
    /**
     * Addresses and subnets the rate limit leaves alone, comma-separated: this machine by default,
     * so a load test run beside the services (the benches, k6 against `npm start`) is not one
     * throttled client; compose names its k6 container's address instead.
     */
    RATE_LIMIT_EXEMPT: z
      .string()
      .default('127.0.0.1,::1,::ffff:127.0.0.1')
      .transform((value) =>
        value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== ''),
      )
      .refine((entries) => entries.every(isAddressOrSubnet), { message: 'expected IP addresses or subnets (10.0.0.0/8), comma-separated' }),
    PORT: env.port(port),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: env.url(['postgresql:', 'postgres:'], `postgresql://postgres@127.0.0.1:5432/boxoffice_${service}`),
    /**
     * Caps the service's Prisma pool (its HTTP requests and reads); unset, each service sizes it to
     * its concurrency. The messaging runtime's own pool (the outbox relay and the consumers'
     * transactions) is sized by its lanes (MessagingRuntime).
     */
    DATABASE_POOL_SIZE: z.coerce.number().int().positive().optional(),
    RABBITMQ_URL: env.url(['amqp:', 'amqps:'], serviceBrokerUrl('RABBITMQ_URL', service)),
    KAFKA_BROKERS: env.hostPorts(brokerDefaults.KAFKA_BROKERS),
    /**
     * The service's SASL/SCRAM-SHA-256 account on Kafka, whose ACLs (generated from the catalog)
     * say which topics it may write and read. Unset: the service's development account, which
     * infra:up creates and production refuses.
     */
    KAFKA_USERNAME: z.string().min(1).default(kafkaAccountOf(service).user),
    KAFKA_PASSWORD: z.string().min(1).default(kafkaAccountOf(service).password),
    /**
     * Which broker carries commands (point to point: Billing's work queue) and which stream
     * carries events (pub/sub: the topics Email, Analytics and Audit read). Every service of one
     * deployment must be given the same two; the defaults are RabbitMQ and Kafka.
     */
    COMMAND_TRANSPORT: z.enum(commandTransports).default('rabbitmq'),
    EVENT_TRANSPORT: z.enum(eventTransports).default('kafka'),
    /**
     * Prefixes every queue, exchange, topic and consumer group on the brokers (`<namespace>.<name>`,
     * see Routing in libs/messaging): two copies of the system, such as two end-to-end specs
     * running at once, share the brokers and never see each other's messages. Empty for the
     * catalog's names as they are. Only what every broker accepts in a name.
     */
    BOXOFFICE_NAMESPACE: z
      .string()
      .regex(/^[\w.-]*$/, { message: 'expected letters, digits, "_", "." and "-" only' })
      .default(''),
    /**
     * How many times a broker may refuse one outbox message (no such queue, unroutable, too
     * large) before the relay parks it for a person (npm run dlq -- outbox). Each refusal waits
     * twice as long as the one before, 100 ms to 10 s: 10 is about 45 s.
     */
    OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().positive().default(10),
    /**
     * How long the outbox relay waits for a broker to confirm a publish. Past it the publish has
     * failed (the messages stay pending, nothing counts against them) and the relay backs off and
     * tries again, so a broker that takes messages and never confirms (RabbitMQ under a memory or
     * disk alarm) cannot hold the relay's transactions, connections and shutdown.
     */
    OUTBOX_PUBLISH_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    /**
     * How long each consumer's inbox rows are kept: a copy of a message arriving after its row is
     * pruned is processed again. Unset, 40 days: longer than any broker here keeps a copy that can
     * come back on its own (libs/messaging/src/inbox/inbox.retention.ts says how that is worked out).
     */
    INBOX_RETENTION_DAYS: z.coerce.number().positive().optional(),
    /** ActiveMQ Artemis over AMQP 1.0, with the service's own account (infra:up creates the development one). */
    ACTIVEMQ_URL: env.url(['amqp:', 'amqps:'], serviceBrokerUrl('ACTIVEMQ_URL', service)),
    /** Amazon SQS: ElasticMQ standing in for it locally, or https://sqs.<region>.amazonaws.com (credentials from the AWS SDK's usual chain). */
    SQS_ENDPOINT: env.url(['http:', 'https:'], brokerDefaults.SQS_ENDPOINT),
    /**
     * FIFO queues keep each key's commands in order (MessageGroupId = the key) and drop SQS's own
     * duplicates; standard ones promise no order and take more throughput (see libs/messaging-sqs).
     */
    SQS_QUEUE_TYPE: z.enum(['fifo', 'standard']).default('fifo'),
    /** Amazon Kinesis: kinesis-local standing in for it, or https://kinesis.<region>.amazonaws.com. */
    KINESIS_ENDPOINT: env.url(['http:', 'https:'], brokerDefaults.KINESIS_ENDPOINT),
    /** NATS with JetStream: nats://user:password@host:port. */
    NATS_URL: env.url(['nats:', 'tls:'], brokerDefaults.NATS_URL),
    AWS_REGION: z.string().min(1).default('us-east-1'),
    /**
     * How long a Kafka consumer group waits for a member it does not hear from before it moves
     * that member's partitions to the others; heartbeats go every tenth of it. A SIGKILLed
     * instance never says goodbye, so this is how long its partitions go unread, and how long a
     * restarted instance's join can wait on the old membership (accepting never waits on it).
     * 10 s with 1 s heartbeats: a dead member is noticed three times sooner than with kafkajs's
     * 30 s, and a live one is thrown out only after ten heartbeats in a row are missed, i.e. a
     * batch or an event-loop stall of about 9 s; the broker refuses anything below its
     * group.min.session.timeout.ms, 6 s by default. Kafka's own default went from 10 s to 45 s
     * (KIP-735) for clients on flaky cloud networks: raise it there.
     */
    KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(10_000),
    LOG_LEVEL: env.logLevel(),
    /**
     * The budget of a shutdown, SIGTERM to exit: readiness off, consumers finish their batches,
     * the relay flushes, connections and HTTP close (libs/platform's shutdown.budget.ts splits it).
     * 8 s fits inside the 10 s Docker waits before its SIGKILL, with a margin.
     */
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(8_000),
  };
}

/** `10.1.2.3`, `::1`, `172.28.0.0/16`: what node:net's BlockList takes. */
function isAddressOrSubnet(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128));
}
