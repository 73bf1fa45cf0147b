import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { brokerAddress, kafkaAccountOf } from '@boxoffice/config';
import { freePort, TestSystem } from '@boxoffice/e2e';
import { createKafkaClient, grantKafkaAcls, kafkaAcls, revokeKafkaAcls, withAdmin } from '@boxoffice/messaging-kafka';
import { TestSmtpServer, uniqueName } from '@boxoffice/testing';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Admin } from 'kafkajs';
import { ensureComposeV2 } from './compose-v2.ts';
import { alterKafkaAccount } from './kafka.ts';
import { composeFile, repoRoot } from './paths.ts';
import { RuntimeImageRehearsal, type RehearsedService } from './runtime-image.rehearsal.ts';

// Each service's runtime image, rehearsed without Docker: a folder holding what the Dockerfile's
// runtime stage copies (production dependencies only), the image's CMD run from it as `nobody`,
// against the real PostgreSQL, RabbitMQ and Kafka. Needs `npm run build` (npm test builds first).

const APPS = ['checkout', 'billing', 'email', 'analytics', 'audit'] as const;

let rehearsal: RuntimeImageRehearsal;
const system = new TestSystem();
const smtp = new TestSmtpServer();
let smtpUrl: string;
let healthchecks: Record<string, string[]>;
const running: RehearsedService[] = [];

// The image runs with NODE_ENV=production, which refuses the development secrets and the brokers'
// development accounts: the rehearsal gives it secrets of its own, and a RabbitMQ and a Kafka
// account made for it (and removed after), as a deployment would. The Kafka account gets the
// ACLs of every service in the system's namespace: it stands in for each of them in turn.
const rabbitUser = uniqueName('rehearsal');
const rabbitPassword = randomUUID();
const kafkaUser = uniqueName('rehearsal');
const kafkaPassword = randomUUID();
const kafkaBootstrap = brokerAddress('KAFKA_BROKERS').split(',')[0];
const kafkaGrants = () => kafkaAcls({ namespace: system.namespace, principalsOf: () => [`User:${kafkaUser}`] });
const withOperatorKafka = (work: (admin: Admin) => Promise<void>) =>
  withAdmin(createKafkaClient({ brokers: [kafkaBootstrap], clientId: 'rehearsal', account: kafkaAccountOf('rehearsal') }), work);
const rabbitmqctl = (...args: string[]) => execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'pipe' });
const productionEnv = () => {
  const url = new URL(brokerAddress('RABBITMQ_URL'));
  url.username = rabbitUser;
  url.password = rabbitPassword;
  return {
    ADMIN_API_KEY: 'rehearsal-admin-key',
    BILLING_API_TOKEN: 'rehearsal-service-token',
    RABBITMQ_URL: url.toString(),
    KAFKA_USERNAME: kafkaUser,
    KAFKA_PASSWORD: kafkaPassword,
  };
};

beforeAll(async () => {
  rabbitmqctl('add_user', rabbitUser, rabbitPassword);
  rabbitmqctl(
    'set_permissions',
    '-p',
    decodeURIComponent(new URL(brokerAddress('RABBITMQ_URL')).pathname.slice(1)) || '/',
    rabbitUser,
    '.*',
    '.*',
    '.*',
  );
  alterKafkaAccount(kafkaBootstrap, kafkaUser, kafkaPassword);
  await withOperatorKafka((admin) => grantKafkaAcls(admin, kafkaGrants()));
  smtpUrl = await smtp.start();
  const compose = ensureComposeV2();
  const model = JSON.parse(
    spawnSync(compose.dockerCompose, ['-f', composeFile, 'config', '--format', 'json'], { cwd: repoRoot, encoding: 'utf8' }).stdout,
  ) as {
    services: Record<string, { healthcheck?: { test?: string[] } }>;
  };
  healthchecks = Object.fromEntries(APPS.map((app) => [app, model.services[app]?.healthcheck?.test ?? []]));
  rehearsal = await RuntimeImageRehearsal.prepare();
}, 180_000);

afterAll(async () => {
  await Promise.all(running.map((service) => service.kill()));
  await system.teardown();
  await smtp.stop();
  rehearsal?.remove();
  rabbitmqctl('delete_user', rabbitUser);
  await withOperatorKafka((admin) => revokeKafkaAcls(admin, kafkaGrants()));
  alterKafkaAccount(kafkaBootstrap, kafkaUser, undefined);
});

/**
 * devDependencies that no production dependency pulls in: none of them may be in the image.
 * (prisma and typescript are optional peers of @prisma/client, so npm installs them for
 * production too; they are in the image, and this cannot show that nothing uses them.)
 */
function devOnlyPackages(): string[] {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const { devDependencies } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  return Object.keys(devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
}

describe.each(APPS)('the %s image, rehearsed natively', (service) => {
  let folder: string;
  let env: Record<string, string> & { PORT: string };
  let instance: RehearsedService;

  beforeAll(async () => {
    folder = rehearsal.build(service);
    env = {
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      BOXOFFICE_NAMESPACE: system.namespace,
      DATABASE_URL: system.databaseUrl(service),
      DATABASE_POOL_SIZE: '4',
      ...productionEnv(),
      ...(service === 'email' ? { SMTP_URL: smtpUrl } : {}),
      LOG_LEVEL: 'warn',
    };
  });

  it('holds its compiled code and migrations, and none of the devDependencies', () => {
    expect(fs.existsSync(path.join(folder, `dist/apps/${service}/src/main.js`))).toBe(true);
    expect(fs.readdirSync(path.join(folder, `apps/${service}/prisma/migrations`)).length).toBeGreaterThan(0);
    const others = APPS.filter((app) => app !== service).filter((app) => fs.existsSync(path.join(folder, 'dist/apps', app)));
    expect(others).toEqual([]);
    const dev = devOnlyPackages();
    expect(dev).toEqual(expect.arrayContaining(['jest', 'nx', '@swc/core', 'node']));
    expect(dev.filter((name) => fs.existsSync(path.join(folder, 'node_modules', name)))).toEqual([]);
  });

  it("starts from there as nobody with the image's CMD and gets ready against the real brokers", async () => {
    instance = await rehearsal.start(service, env);
    running.push(instance);
    expect(instance.child.pid).toBeDefined();
    // The process runs as nobody, not as the root this machine runs tests as.
    const status = fs.readFileSync(`/proc/${instance.child.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).not.toBe('0');
    const ready = await fetch(`${instance.url}/health/ready`);
    expect(ready.status).toBe(200);
  });

  it("passes docker-compose.yml's healthcheck, run in the image, and fails it when nothing answers", async () => {
    expect(healthchecks[service]).not.toEqual([]);
    const passing = await rehearsal.healthcheck(service, healthchecks[service]!, env);
    expect(passing).toEqual({ code: 0, output: '' });
    const failing = await rehearsal.healthcheck(service, healthchecks[service]!, { ...env, PORT: String(await freePort()) });
    expect(failing.code).toBe(1);
  });

  it('ends on SIGTERM, as `docker stop` sends it, before its shutdown deadline', async () => {
    // A stop within the shutdown budget exits 0. Exit code 1 would be the budget's backstop,
    // SIGKILL a hung process's.
    expect(await instance.stop()).toEqual({ code: 0, signal: null });
  });
});
