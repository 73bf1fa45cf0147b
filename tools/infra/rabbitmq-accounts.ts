// Each service's account on this machine's RabbitMQ, and the project's vhost: imported from
// tools/infra/rabbitmq/definitions.json (written from the catalog by npm run brokers:accounts) on
// every infra:up, so a change to the catalog reaches the broker. Importing is additive and
// idempotent: it creates or updates these users, the vhost and their permissions, and leaves
// everything else on the broker as it was. A RabbitMQ that rabbitmqctl here cannot reach
// (compose's) loads the same accounts from docker/rabbitmq/definitions.json at boot.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const definitions = fileURLToPath(new URL('rabbitmq/definitions.json', import.meta.url));

export type Accounts = 'imported' | 'not imported';

export function importRabbitMqAccounts(log: (line: string) => void = console.log): Accounts {
  try {
    execFileSync('rabbitmqctl', ['-q', 'import_definitions', definitions], { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 });
    return 'imported';
  } catch (error) {
    const output = (error as { stderr?: string }).stderr?.trim().split('\n')[0] ?? String(error);
    log(`  rabbitmq: the services' accounts were not imported (${output}); import ${definitions} on that broker`);
    return 'not imported';
  }
}
