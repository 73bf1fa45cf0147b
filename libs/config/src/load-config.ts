import { z } from 'zod';
import { accountHolders, brokerDefaults, developmentAccountOf, kafkaAccountOf, operatorKafkaAccount } from './brokers.js';
import { developmentSecrets } from './env.js';

/** Thrown when the environment does not fit a service's schema; its message is one line per problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads a service's settings from environment variables and validates them once, at start.
 * A missing or malformed value stops the service with a line naming the variable, what was
 * expected and what was found, instead of failing later somewhere far from the cause. A secret's
 * value is never echoed, nor a password in a URL.
 *
 * With NODE_ENV=production it also refuses what is fine only on a laptop (refusedInProduction):
 * a secret left at its development default, or a broker account that every install has.
 */
export function loadConfig<Schema extends z.ZodObject>(
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): z.infer<Schema> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '(environment)');
      const value = env[variable];
      const found =
        value === undefined ? 'it is not set' : isSecret(variable) ? 'got a value' : `got ${JSON.stringify(withoutPassword(value))}`;
      return `${variable}: ${issue.message} (${found})`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const refused = refusedInProduction(result.data as Record<string, unknown>);
  if (refused.length > 0) throw new ConfigError(`refused in production (NODE_ENV=production): ${refused.join('; ')}`);
  return result.data;
}

/**
 * The brokers' development accounts, as their development URLs hold them: RabbitMQ's guest,
 * Artemis' operator, and each service's own on both (infra:up creates them).
 */
const developmentAccounts = [
  ...(['RABBITMQ_URL', 'ACTIVEMQ_URL'] as const).map((setting) => {
    const url = new URL(brokerDefaults[setting]);
    return { setting, user: url.username, password: url.password };
  }),
  ...(['RABBITMQ_URL', 'ACTIVEMQ_URL'] as const).flatMap((setting) =>
    accountHolders.map((service) => ({ setting, ...developmentAccountOf(service) })),
  ),
].map((account) => ({ ...account, transport: account.setting === 'RABBITMQ_URL' ? 'rabbitmq' : 'activemq' }));

/** Kafka's development accounts: the operator's and each service's (infra:up creates them). */
const developmentKafkaAccounts = [operatorKafkaAccount({}), ...accountHolders.map(kafkaAccountOf)];

/** What a production configuration must not hold, one line each; none outside production. */
export function refusedInProduction(config: Record<string, unknown>): string[] {
  if (config.NODE_ENV !== 'production') return [];
  const refused: string[] = [];
  for (const [name, fallback] of Object.entries(developmentSecrets)) {
    if (config[name] === fallback) refused.push(`${name} is the development default; set a secret of your own`);
  }
  const transports = [config.COMMAND_TRANSPORT, config.EVENT_TRANSPORT];
  for (const { setting, transport, user, password } of developmentAccounts) {
    const value = config[setting];
    if (!transports.includes(transport) || typeof value !== 'string' || !URL.canParse(value)) continue;
    const url = new URL(value);
    if (decodeURIComponent(url.username) === user && decodeURIComponent(url.password) === password)
      refused.push(`${setting} uses the broker's development account "${user}"; give the service an account of its own`);
  }
  if (
    transports.includes('kafka') &&
    developmentKafkaAccounts.some(({ user, password }) => config.KAFKA_USERNAME === user && config.KAFKA_PASSWORD === password)
  )
    refused.push(
      `KAFKA_USERNAME and KAFKA_PASSWORD are the development account "${String(config.KAFKA_USERNAME)}"; give the service an account of its own`,
    );
  return refused;
}

function isSecret(variable: string): boolean {
  return variable in developmentSecrets || /KEY|TOKEN|SECRET|PASSWORD/.test(variable);
}

/** A URL with a password shows `***` in its place; anything else as it is. */
function withoutPassword(value: string): string {
  if (!URL.canParse(value)) return value;
  const url = new URL(value);
  if (!url.password) return value;
  url.password = '***';
  return url.toString();
}
