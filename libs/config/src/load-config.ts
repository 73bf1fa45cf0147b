import { z } from 'zod';

/** Thrown when the environment does not fit a service's schema; its message is one line per problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Reads a service's settings from environment variables and validates them once, at start.
 * A missing or malformed value stops the service with a line naming the variable, what was
 * expected and what was found, instead of failing later somewhere far from the cause.
 */
export function loadConfig<Schema extends z.ZodObject>(
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): z.infer<Schema> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(environment)');
    const found = env[variable] === undefined ? 'it is not set' : `got ${JSON.stringify(env[variable])}`;
    return `${variable}: ${issue.message} (${found})`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
}
