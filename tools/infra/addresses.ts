// Where the three pieces of infrastructure are expected, read from the same environment
// variables the services read, with the same defaults, so `infra:up` checks exactly what the
// services will dial.

// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { brokerAddress } from '../../libs/config/src/brokers.ts';

export type HostPort = { host: string; port: number };

export type InfraAddresses = {
  postgres: HostPort;
  rabbitmq: HostPort;
  kafka: HostPort;
  /** ACTIVEMQ_URL: the Artemis broker's AMQP 1.0 acceptor. */
  activemq: HostPort;
  /** KINESIS_ENDPOINT: kinesis-local's plain HTTP port. */
  kinesis: HostPort;
  /** SQS_ENDPOINT: ElasticMQ locally, or an AWS endpoint (which infra:up only checks). */
  sqs: HostPort;
  /** NATS_URL: the NATS server (JetStream on). */
  nats: HostPort;
};

export function infraAddresses(env: NodeJS.ProcessEnv = process.env): InfraAddresses {
  return {
    postgres: { host: env.PGHOST || '127.0.0.1', port: Number(env.PGPORT || 5432) },
    rabbitmq: fromUrl(brokerAddress('RABBITMQ_URL', env), 5672),
    // KAFKA_BROKERS may list several brokers; any one of them answering is enough to bootstrap
    // a client, and a local broker is only ever started on the first.
    kafka: fromHostPort(brokerAddress('KAFKA_BROKERS', env).split(',')[0].trim(), 9092),
    activemq: fromUrl(brokerAddress('ACTIVEMQ_URL', env), 5672),
    // kinesis-local's plain HTTP port; the SDK's endpoint, so a URL.
    kinesis: fromUrl(brokerAddress('KINESIS_ENDPOINT', env), 4568),
    nats: fromUrl(brokerAddress('NATS_URL', env), 4222),
    sqs: fromUrl(brokerAddress('SQS_ENDPOINT', env), brokerAddress('SQS_ENDPOINT', env).startsWith('https:') ? 443 : 80),
  };
}

export function formatAddress({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

// Only an address on this machine can be served by a process that infra:up starts here.
export function isThisMachine({ host }: HostPort): boolean {
  return ['localhost', '127.0.0.1', '::1', '0.0.0.0'].includes(host) || host.startsWith('127.');
}

function fromUrl(url: string, defaultPort: number): HostPort {
  const parsed = new URL(url);
  // URL keeps the brackets of an IPv6 literal; net.connect wants the bare address.
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || defaultPort) };
}

function fromHostPort(value: string, defaultPort: number): HostPort {
  // Parse "host:port" through URL so "[::1]:9092" works as well as "localhost:9092".
  return fromUrl(`tcp://${value}`, defaultPort);
}
