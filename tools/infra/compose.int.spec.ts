import { beforeAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '@boxoffice/config';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { YIELDING_CPU_SHARES, YIELDING_SERVICES } from '../dev/cpu-priority.ts';
import { ensureComposeV2, type ComposeV2 } from './compose-v2.ts';
import { composeFile, repoRoot } from './paths.ts';

// docker-compose.yml as Compose v2 reads it, on a machine without a Docker engine: Debian
// trixie's docker-compose (Compose v2) and compose-spec (the compose-go validator), fetched
// into .cache/compose-v2 by compose-v2.ts, parse, validate and normalise the file without a
// daemon. The checks below read the normalised model (`config --format json`), so anchors,
// merges and interpolation are already resolved the way `docker compose up` resolves them.

const APPS = ['checkout', 'billing', 'email', 'analytics', 'audit'] as const;
/**
 * Read by libs/telemetry from the environment, before any config schema: the OpenTelemetry SDK's
 * own variables, as the OpenTelemetry spec names them, and TRACING_SQL_SPANS (a span per SQL
 * statement, docs/observability.md).
 */
const TELEMETRY_VARIABLES = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'TRACING_SQL_SPANS'];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string; args?: Record<string, string> };
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  ports?: Array<{ host_ip?: string; target: number; published: string; protocol: string }>;
  volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>;
  profiles?: string[];
  restart?: string;
  cpu_shares?: number;
}
interface ComposeModel {
  services: Record<string, ComposeService>;
}

let compose: ComposeV2;
/** Runs a binary with only PATH and HOME, so no COMPOSE_* or K6_SCRIPT of the shell leaks in. */
function run(binary: string, args: string[]) {
  const result = spawnSync(binary, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/' },
  });
  if (result.error) throw result.error;
  return result;
}
const dockerCompose = (...args: string[]) => run(compose.dockerCompose, ['-f', composeFile, ...args]);

let services: Record<string, ComposeService>;
const refuse = (stderr: string) => () => {
  throw new Error(`docker-compose config failed, so there is no model to check: ${stderr}`);
};

beforeAll(() => {
  compose = ensureComposeV2();
  // Every profile on, so that the load-test service is checked with the rest. A file Compose
  // refuses has no model: the validation tests below say why, the rest fail on this.
  const result = dockerCompose('--profile', '*', 'config', '--format', 'json');
  services =
    result.status === 0
      ? (JSON.parse(result.stdout) as ComposeModel).services
      : new Proxy({}, { get: refuse(result.stderr), ownKeys: refuse(result.stderr) });
});

/** Every host:port a value names: URLs, and comma-separated host:port lists such as Kafka's brokers. */
function addresses(value: string): Array<{ host: string; port: number | undefined }> {
  return value.split(',').flatMap((part) => {
    const text = part.trim();
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && URL.canParse(text)) {
      const url = new URL(text);
      const defaults: Record<string, number> = { 'http:': 80, 'https:': 443 };
      return [{ host: url.hostname, port: url.port ? Number(url.port) : defaults[url.protocol] }];
    }
    const hostPort = /^([\w.-]+):(\d{1,5})$/.exec(text);
    return hostPort ? [{ host: hostPort[1]!, port: Number(hostPort[2]) }] : [];
  });
}

/** The ports a service answers on inside the compose network. */
function listensOn(name: string): number[] {
  const service = services[name]!;
  const env = service.environment ?? {};
  const advertised = addresses((env.KAFKA_ADVERTISED_LISTENERS ?? '').replace(/\b[A-Z_]+:\/\//g, ''));
  return [
    ...(service.ports ?? []).map((port) => port.target),
    ...(env.PORT ? [Number(env.PORT)] : []),
    ...advertised.filter((address) => address.host === name).map((address) => address.port!),
  ];
}

async function configSchemaOf(app: string): Promise<z.ZodObject> {
  const module = (await import(path.join(repoRoot, 'apps', app, 'src', `${app}.config.ts`))) as Record<string, unknown>;
  const schema = module[`${app}ConfigSchema`];
  if (!schema) throw new Error(`apps/${app}/src/${app}.config.ts exports no ${app}ConfigSchema`);
  return schema as z.ZodObject;
}

/** The ports the README's "Ports and URLs" table gives for Docker ("same" repeats the native column). */
function readmeDockerPorts(): number[] {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^### Ports and URLs$/m)[1]?.split(/^#/m)[0] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('|') && !/^\|\s*(what|-)/.test(line));
  expect(rows.length).toBeGreaterThan(5);
  return rows.flatMap((row) => {
    const [, native = '', docker = ''] = row
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    const text = /^(same|\+)/.test(docker) ? `${native} ${docker}` : docker;
    return [...text.matchAll(/(?:localhost|127\.0\.0\.1):(\d+)/g)].map((match) => Number(match[1]));
  });
}

/** The roles and databases docker/postgres/init.sql creates, read off its two service lists. */
function initScript(): { roles: Map<string, string>; databases: Map<string, string> } {
  const sql = initScript.sql();
  const lists = [...sql.matchAll(/ARRAY\[([^\]]*)\]/g)].map((match) => [...match[1]!.matchAll(/'([^']+)'/g)].map((name) => name[1]!));
  // The shape this reading relies on: a role named like the service with the same password,
  // and boxoffice_<service> owned by it. If the script changes shape, this says so.
  expect(sql).toContain("format('CREATE ROLE %I LOGIN PASSWORD %L', service, service)");
  expect(sql).toContain("format('CREATE DATABASE %I OWNER %I', 'boxoffice_' || service, service)");
  expect(lists).toHaveLength(2);
  const [roleNames, databaseServices] = lists as [string[], string[]];
  return {
    roles: new Map(roleNames.map((role) => [role, role])),
    databases: new Map(databaseServices.map((service) => [`boxoffice_${service}`, service])),
  };
}

initScript.sql = () => readFileSync(path.join(repoRoot, 'docker/postgres/init.sql'), 'utf8');

describe('docker-compose.yml under Compose v2', () => {
  it('is Compose v2', () => {
    expect(run(compose.dockerCompose, ['version', '--short']).stdout.trim()).toMatch(/^2\./);
  });

  it('passes `docker-compose config -q` as a whole and with each profile on', () => {
    const whole = dockerCompose('config', '-q');
    expect({ stderr: whole.stderr, status: whole.status }).toEqual({ stderr: '', status: 0 });
    const profiles = dockerCompose('config', '--profiles').stdout.split('\n').filter(Boolean);
    expect(profiles.sort()).toEqual(['activemq', 'kinesis', 'loadtest', 'nats', 'sqs']);
    for (const args of [...profiles.map((profile) => ['--profile', profile]), ['--profile', '*']]) {
      const result = dockerCompose(...args, 'config', '-q');
      expect({ args, stderr: result.stderr, status: result.status }).toEqual({ args, stderr: '', status: 0 });
    }
  });

  it('is accepted by compose-spec, the reference validator', () => {
    const result = run(compose.composeSpec, [composeFile]);
    expect({ stderr: result.stderr, status: result.status }).toEqual({ stderr: '', status: 0 });
  });

  it('runs the five services from images built by the Dockerfile, one SERVICE each', () => {
    for (const app of APPS) {
      expect(services[app]?.image).toBe(`boxoffice/${app}:local`);
      expect(services[app]?.build).toMatchObject({
        context: repoRoot,
        dockerfile: 'Dockerfile',
        target: 'runtime',
        args: { SERVICE: app },
      });
    }
  });

  it('pins every image it pulls to an exact version tag', () => {
    const pulled = Object.entries(services).filter(([, service]) => !service.build);
    expect(pulled.map(([name]) => name).sort()).toEqual([
      'activemq',
      'k6',
      'kafka',
      'kafka-acls',
      'kafka-ui',
      'lgtm',
      'mailpit',
      'nats',
      'postgres',
      'rabbitmq',
      'sqs',
    ]);
    for (const [name, service] of pulled) {
      expect({ name, image: service.image }).toEqual({
        name,
        image: expect.stringMatching(/^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[a-z][\w.]*)?$/),
      });
    }
  });

  it('lets the subscribers of the event log yield the CPU to the sale, as npm start does', () => {
    const weights = Object.fromEntries(APPS.map((app) => [app, services[app]!.cpu_shares ?? 1_024]));
    for (const app of APPS) {
      if (YIELDING_SERVICES.has(app)) expect({ app, weight: weights[app] }).toEqual({ app, weight: YIELDING_CPU_SHARES });
      else expect({ app, weight: weights[app] }).toEqual({ app, weight: 1_024 });
    }
  });

  describe.each(APPS)('the environment of %s', (app) => {
    it('names only variables its config schema reads, and fills it without error', async () => {
      const schema = await configSchemaOf(app);
      const environment = Object.fromEntries(Object.entries(services[app]!.environment ?? {}).map(([key, value]) => [key, value ?? '']));
      const unknown = Object.keys(environment).filter((key) => !(key in schema.shape) && !TELEMETRY_VARIABLES.includes(key));
      expect(unknown).toEqual([]);
      // As the image runs it: NODE_ENV=production refuses development secrets and accounts.
      expect(() => loadConfig(schema, { ...environment, NODE_ENV: 'production' })).not.toThrow();
    });

    it('sends its traces to the observability stack', () => {
      expect(services[app]!.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://lgtm:4318');
    });

    it('leaves no setting at a default that means this container itself', async () => {
      // Every default points at 127.0.0.1, right natively and wrong in a container: a variable
      // missing here leaves the service talking to itself.
      const config = loadConfig(await configSchemaOf(app), services[app]!.environment as Record<string, string>);
      const loopback = Object.entries(config)
        .filter(([key]) => key !== 'HOST')
        .filter(([, value]) => /\b(127\.0\.0\.1|localhost)\b/.test(String(value)))
        .map(([key]) => key);
      expect(loopback).toEqual([]);
      expect(config.HOST).toBe('0.0.0.0');
    });

    it('listens on the port it publishes, and checks its health there', () => {
      const service = services[app]!;
      const port = Number(service.environment?.PORT);
      expect(service.ports?.map((published) => published.target)).toEqual([port]);
      // Never /live: dependants wait for a service that can do its work. Checkout's work is
      // accepting (its database); a worker's is consuming as well (/ready: database and brokers).
      const check = app === 'checkout' ? 'accepting' : 'ready';
      expect(service.healthcheck?.test?.join(' ')).toMatch(
        new RegExp(`^CMD node -e .*'http://127\\.0\\.0\\.1:' \\+ process\\.env\\.PORT \\+ '/health/${check}'`),
      );
    });
  });

  it("gives each service's RABBITMQ_URL its own account, on the vhost and with the password the broker's definitions hold", () => {
    const definitions = JSON.parse(readFileSync(path.join(repoRoot, 'docker/rabbitmq/definitions.json'), 'utf8')) as {
      users: Array<{ name: string; password_hash: string }>;
    };
    for (const app of APPS) {
      const url = new URL(services[app]!.environment!.RABBITMQ_URL!);
      const user = decodeURIComponent(url.username);
      const stored = Buffer.from(definitions.users.find((u) => u.name === user)?.password_hash ?? '', 'base64');
      // RabbitMQ's SHA-256 hash: a 4-byte salt, then sha256(salt + password).
      const salt = stored.subarray(0, 4);
      const hashed = createHash('sha256')
        .update(Buffer.concat([salt, Buffer.from(decodeURIComponent(url.password))]))
        .digest();
      expect({ app, user, host: url.host, vhost: url.pathname, password: stored.subarray(4).equals(hashed) }).toEqual({
        app,
        user: app,
        host: 'rabbitmq:5672',
        vhost: '/boxoffice',
        password: true,
      });
    }
  });

  it("gives each service's ACTIVEMQ_URL its own account, with the password and role the mounted Artemis files hold", () => {
    const etc = path.join(repoRoot, 'docker/artemis/etc-override');
    expect(services.activemq!.volumes ?? []).toContainEqual(
      expect.objectContaining({ type: 'bind', source: etc, target: '/var/lib/artemis-instance/etc-override', read_only: true }),
    );
    const properties = (file: string) =>
      new Map(
        readFileSync(path.join(etc, file), 'utf8')
          .split('\n')
          .filter((line) => line && !line.startsWith('#'))
          .map((line) => line.split('=').map((part) => part.trim()) as [string, string]),
      );
    const users = properties('artemis-users.properties');
    const roles = properties('artemis-roles.properties');
    for (const app of APPS) {
      const url = new URL(services[app]!.environment!.ACTIVEMQ_URL!);
      const user = decodeURIComponent(url.username);
      expect({ app, user, host: url.host, password: users.get(user) === decodeURIComponent(url.password) }).toEqual({
        app,
        user: app,
        host: 'activemq:61617',
        password: true,
      });
      // A service that sends or reads a command is in its role; the others hold no role at all.
      const role = [...roles].find(([, members]) => members.split(',').includes(user))?.[0];
      expect(role === undefined || role === app).toBe(true);
    }
    expect(readFileSync(path.join(etc, 'broker.properties'), 'utf8')).toMatch(/^managementMessageRbac=true$/m);
  });

  it("gives each service's DATABASE_URL a role and database that init.sql creates, the role owning it", () => {
    const { roles, databases } = initScript();
    const volumes = services.postgres!.volumes ?? [];
    expect(volumes).toContainEqual(
      expect.objectContaining({
        type: 'bind',
        source: path.join(repoRoot, 'docker/postgres/init.sql'),
        target: expect.stringMatching(/^\/docker-entrypoint-initdb\.d\/.+\.sql$/),
      }),
    );
    for (const app of APPS) {
      const url = new URL(services[app]!.environment!.DATABASE_URL!);
      const database = url.pathname.slice(1);
      expect({
        app,
        host: url.hostname,
        port: url.port,
        password: url.password,
        owner: databases.get(database),
        role: roles.get(url.username),
      }).toEqual({
        app,
        host: 'postgres',
        port: '5432',
        password: roles.get(url.username),
        owner: url.username,
        role: url.username,
      });
    }
    // Audit runs as a writer that init.sql makes and that owns nothing.
    const writer = new URL(services.audit!.environment!.DATABASE_WRITER_URL!);
    expect(initScript.sql()).toContain(`CREATE ROLE ${writer.username} LOGIN PASSWORD '${writer.password}'`);
    expect({ host: writer.host, database: writer.pathname }).toEqual({ host: 'postgres:5432', database: '/boxoffice_audit' });
    // Nothing created for a service that does not exist.
    expect([...roles.keys()].sort()).toEqual([...APPS].sort());
    expect([...databases.values()].sort()).toEqual([...APPS].sort());
  });

  it('waits, for every dependency, until its healthcheck passes (a one-off job: until it exits 0); required unless the dependency is under a profile', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition, required }] of Object.entries(service.depends_on ?? {})) {
        // A job that runs once and exits (kafka-acls) is waited for until it has done its work.
        if (services[dependency]?.restart === 'no') {
          expect({ name, dependency, condition, required }).toEqual({
            name,
            dependency,
            condition: 'service_completed_successfully',
            required: true,
          });
          continue;
        }
        const healthcheck = services[dependency]?.healthcheck;
        // A broker under a profile (ActiveMQ, SQS, Kinesis) is waited for when its profile is on,
        // and must not be required when it is off, or the default stack would not start.
        const profiled = Boolean(services[dependency]?.profiles?.length);
        expect({
          name,
          dependency,
          condition,
          required,
          checked: Boolean(healthcheck?.test?.length) && healthcheck?.test?.[0] !== 'NONE' && !healthcheck?.disable,
        }).toEqual({
          name,
          dependency,
          condition: 'service_healthy',
          required: !profiled,
          checked: true,
        });
      }
    }
  });

  it('depends on every service its environment addresses, on a port that service listens on', () => {
    let checked = 0;
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (variable === 'KAFKA_ADVERTISED_LISTENERS' || variable === 'KAFKA_LISTENERS' || variable === 'KAFKA_CONTROLLER_QUORUM_VOTERS')
          continue;
        for (const { host, port } of addresses(value ?? '')) {
          if (!(host in services) || host === name) continue;
          checked += 1;
          expect({
            name,
            variable,
            host,
            dependsOn: service.depends_on?.[host]?.condition,
            portAnswers: listensOn(host).includes(port!),
          }).toEqual({
            name,
            variable,
            host,
            dependsOn: 'service_healthy',
            portAnswers: true,
          });
        }
      }
    }
    // Five DATABASE_URLs, RABBITMQ_URLs, KAFKA_BROKERS, ACTIVEMQ_URLs, SQS_ENDPOINTs, KINESIS_ENDPOINTs,
    // NATS_URLs and OTEL_EXPORTER_OTLP_ENDPOINTs, Audit's DATABASE_WRITER_URL, BILLING_URL,
    // SMTP_URL, Kafka UI's and k6's.
    expect(checked).toBe(45);
  });

  it("publishes exactly the ports of the README's table, on 127.0.0.1 and unchanged", () => {
    const published = Object.values(services).flatMap((service) => service.ports ?? []);
    for (const port of published) expect(port).toMatchObject({ host_ip: '127.0.0.1', published: String(port.target), protocol: 'tcp' });
    const documented = [...new Set(readmeDockerPorts())].sort((a, b) => a - b);
    expect(published.map((port) => port.target).sort((a, b) => a - b)).toEqual(documented);
  });

  describe('the observability stack (lgtm)', () => {
    const mounted = (target: string) => services.lgtm!.volumes?.find((volume) => volume.target === target);

    it('runs by default, with a healthcheck, and Grafana on the port the README gives', () => {
      expect(services.lgtm!.profiles ?? []).toEqual([]);
      expect(services.lgtm!.healthcheck?.test?.join(' ')).toMatch(/api\/health.*-\/ready.*3200\/ready.*4318/s);
      expect(services.lgtm!.environment?.GF_SERVER_HTTP_PORT).toBe('3030');
      expect(listensOn('lgtm')).toEqual(expect.arrayContaining([3030, 4318]));
    });

    it('gets the Prometheus configuration, the dashboard provider and the dashboards from observability/', () => {
      expect(mounted('/otel-lgtm/prometheus.yaml')).toMatchObject({
        type: 'bind',
        source: path.join(repoRoot, 'observability/prometheus/prometheus.yaml'),
        read_only: true,
      });
      // The alert rules, where prometheus.yaml's rule_files looks for them.
      expect(mounted('/otel-lgtm/boxoffice-alerts.yaml')).toMatchObject({
        type: 'bind',
        source: path.join(repoRoot, 'observability/prometheus/alerts.yaml'),
        read_only: true,
      });
      expect(readFileSync(path.join(repoRoot, 'observability/prometheus/prometheus.yaml'), 'utf8')).toMatch(
        /^rule_files:\n {2}- \/otel-lgtm\/boxoffice-alerts\.yaml$/m,
      );
      expect(mounted('/otel-lgtm/boxoffice-dashboards')).toMatchObject({
        type: 'bind',
        source: path.join(repoRoot, 'observability/grafana/dashboards'),
        read_only: true,
      });
      const provider = mounted('/otel-lgtm/grafana/conf/provisioning/dashboards/boxoffice.yaml');
      expect(provider).toMatchObject({ type: 'bind', read_only: true });
      // The provider reads the folder the dashboards are mounted at.
      expect(readFileSync(provider!.source, 'utf8')).toMatch(/path: \/otel-lgtm\/boxoffice-dashboards$/m);
    });

    it("scrapes each service's /metrics on the port it listens on, and RabbitMQ's plugin, whose plugin file is mounted", () => {
      const config = readFileSync(path.join(repoRoot, 'observability/prometheus/prometheus.yaml'), 'utf8');
      for (const app of APPS) expect(config).toContain(`"${app}:${services[app]!.environment!.PORT}"`);
      expect(config).toContain('"rabbitmq:15692"');
      const plugins = services.rabbitmq!.volumes?.find((volume) => volume.target === '/etc/rabbitmq/enabled_plugins');
      expect(plugins).toMatchObject({ type: 'bind', read_only: true });
      expect(readFileSync(plugins!.source, 'utf8').trim()).toBe('[rabbitmq_management,rabbitmq_prometheus].');
    });
  });
});
