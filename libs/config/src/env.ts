import { z } from 'zod';

// Building blocks for the services' configuration schemas. Every default points at 127.0.0.1,
// so a service runs natively without a .env file; docker-compose.yml overrides them.

export const env = {
  port: (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback),

  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),

  nonNegativeNumber: (fallback: number) => z.coerce.number().nonnegative().default(fallback),

  url: (protocols: ReadonlyArray<string>, fallback: string) =>
    z
      .string()
      .default(fallback)
      .refine((value) => URL.canParse(value) && protocols.includes(new URL(value).protocol), {
        message: `expected a ${protocols.map((p) => p.replace(/:$/, '')).join(' or ')} URL`,
      }),

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
    PORT: env.port(port),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: env.url(['postgresql:', 'postgres:'], `postgresql://postgres@127.0.0.1:5432/boxoffice_${service}`),
    /** Caps the service's database connections; unset, each service sizes its pool to its concurrency. */
    DATABASE_POOL_SIZE: z.coerce.number().int().positive().optional(),
    RABBITMQ_URL: env.url(['amqp:', 'amqps:'], 'amqp://guest:guest@127.0.0.1:5672'),
    KAFKA_BROKERS: env.hostPorts('127.0.0.1:9092'),
    LOG_LEVEL: env.logLevel(),
    /** How long a SIGTERM may take: stop taking work, finish in-flight, close connections. */
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(10_000),
  };
}
