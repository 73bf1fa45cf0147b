// A native single-node Kafka for machines without Docker, built from Maven Central jars.
//
// Everything lives in .cache/kafka/ (git-ignored):
//   libs/               the broker's jars, resolved once from tools/infra/kafka/pom.xml
//   data/               the KRaft log dir, formatted once; topics and offsets survive restarts
//   accounts            the SCRAM accounts data/ was formatted with (see formatStorageOnce)
//   cluster-id          the id data/ was formatted with
//   server.properties   written from tools/infra/kafka/server.properties.template on every start
//   server.log          the broker's log (server.log.1 holds the previous run's)
//   kafka.pid           the broker's process id, for infra:down
// `rm -rf .cache/kafka` (with the broker stopped) starts over from nothing.
//
// The jars are shared; the rest is one broker's "home" (paths.ts, kafkaHome). A spec that must
// restart a broker runs a throwaway one with a home and port of its own (test/throwaway-kafka.ts).

import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { accountHolders, brokerDefaults, developmentAccountOf, operatorKafkaAccount } from '../../libs/config/src/brokers.ts';
import type { HostPort } from './addresses.ts';
import { run, tail } from './commands.ts';
import { readIfExists, requireJava, resolveMavenJars } from './jvm.ts';
import { defaultKafkaHome, kafka as files, type KafkaHome, shown } from './paths.ts';

export const KAFKA_INSTALL_HINT = 'Kafka needs Java 17+ and Maven: apt-get install -y openjdk-17-jre-headless maven';

// Kafka's own scripts default to a 1 GB heap. A development broker with a few dozen
// partitions needs far less, and it shares the machine with PostgreSQL, RabbitMQ and five
// services.
const JVM_OPTIONS = ['-Xmx512m'];

// A broker that got SIGTERM flushes its logs and hands off leadership before it exits. On one
// node that takes a few seconds; 30 s means something is stuck.
const STOP_TIMEOUT_MS = 30_000;

export type NativeKafka = {
  pid: number;
  // Why the broker is no longer running, or undefined while it is.
  exited: () => string | undefined;
};

// Prepare whatever is missing (jars, storage), then start the broker detached so it outlives
// infra:up. Throws an Error whose message tells a person what to do. `home` holds the broker's
// own files (storage, settings, log, pid): infra:up's in .cache/kafka, a test's throwaway one
// elsewhere.
export function startNativeKafka(address: HostPort, log: (line: string) => void, home: KafkaHome = defaultKafkaHome): NativeKafka {
  fs.mkdirSync(home.dir, { recursive: true });
  const properties = serverProperties(address, home);

  // Our broker is already running but did not answer: either it is still starting (wait for
  // it) or it was started for another address (a second one could not lock data/ anyway).
  const earlier = runningBrokerPid(home);
  if (earlier) {
    if (readIfExists(home.serverProperties) !== properties) {
      throw new Error(
        `the broker in ${shown(home.dir)} (pid ${earlier}) runs with other settings (another KAFKA_BROKERS, or an ` +
          `edited template); stop it first: npm run infra:down`,
      );
    }
    log(`  kafka: the broker started earlier (pid ${earlier}) is running but not answering yet; waiting for it`);
    return { pid: earlier, exited: () => (isAlive(earlier) ? undefined : brokerExitedMessage(home)) };
  }

  const java = kafkaJava(log);
  // Written on every start so edits to the template (or a new KAFKA_BROKERS) take effect.
  fs.writeFileSync(home.serverProperties, properties);
  formatStorageOnce(java, log, home);

  // Keep one previous log, so a broker that died can still be diagnosed after a restart.
  if (fs.existsSync(home.log)) fs.renameSync(home.log, `${home.log}.1`);
  const out = fs.openSync(home.log, 'a');
  const child: ChildProcess = spawn(java, [...JVM_OPTIONS, ...log4j(), '-cp', classpath(), 'kafka.Kafka', home.serverProperties], {
    cwd: home.dir,
    detached: true, // its own process group: Ctrl-C on infra:up must not take the broker with it
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${java}`);
  fs.writeFileSync(home.pid, `${child.pid}\n`);

  let exitCode: number | null = null;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : 1)));
  return { pid: child.pid, exited: () => (exitCode === null ? undefined : brokerExitedMessage(home)) };
}

// Java, with the broker's jars (and its command-line tools) resolved into .cache/kafka/libs.
function kafkaJava(log: (line: string) => void): string {
  const java = requireJava(17, 'Kafka 4', KAFKA_INSTALL_HINT);
  resolveMavenJars(
    {
      service: 'kafka',
      product: 'Kafka',
      pom: files.pom,
      lib: files.libs,
      stamp: files.libsStamp,
      mavenLog: files.mavenLog,
      installHint: KAFKA_INSTALL_HINT,
      timeoutMs: 15 * 60_000,
    },
    log,
  );
  return java;
}

// SIGTERM, then wait for the process to go away. Returns what happened, for infra:down to
// print, or undefined if there was no broker to stop.
export async function stopNativeKafka(home: KafkaHome = defaultKafkaHome): Promise<string | undefined> {
  const pid = runningBrokerPid(home);
  if (!pid) {
    fs.rmSync(home.pid, { force: true });
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(250);
  let outcome = `native broker stopped (pid ${pid})`;
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    outcome = `native broker did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM, killed (pid ${pid}); see ${shown(home.log)}`;
  }
  fs.rmSync(home.pid, { force: true });
  return outcome;
}

// The pid in kafka.pid, if that process is still our broker (a pid can be reused after a reboot).
export function runningBrokerPid(home: KafkaHome = defaultKafkaHome): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(home.pid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    const commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!commandLine.includes('kafka.Kafka') || !commandLine.includes(home.serverProperties)) return undefined;
  } catch {
    // No /proc (macOS): trust the pid file.
  }
  return pid;
}

function serverProperties(address: HostPort, home: KafkaHome): string {
  // KAFKA_CONTROLLER_PORT names infra:up's controller port; any other broker uses the next port.
  const override = home === defaultKafkaHome ? process.env.KAFKA_CONTROLLER_PORT : undefined;
  const controllerPort = Number(override || address.port + 1);
  const values: Record<string, string> = {
    host: address.host,
    port: String(address.port),
    controllerPort: String(controllerPort),
    dataDir: home.data,
    brokerUser: BROKER_ACCOUNT.user,
    brokerPassword: BROKER_ACCOUNT.password,
    operator: brokerDefaults.KAFKA_USERNAME,
  };
  const template = fs.readFileSync(files.template, 'utf8');
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`unknown placeholder {{${name}}} in ${shown(files.template)}`);
    return values[name];
  });
}

// The broker's own account: it signs in to itself (inter-broker and controller listeners).
const BROKER_ACCOUNT = { user: 'boxoffice-broker', password: 'broker-development' };

// How a Kafka command-line tool signs in (its --command-config file).
export function clientProperties({ user, password }: { user: string; password: string }): string {
  return [
    'security.protocol=SASL_PLAINTEXT',
    'sasl.mechanism=SCRAM-SHA-256',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`,
    '',
  ].join('\n');
}

// Every SCRAM account of a development broker: its own, the operator's (tools and specs) and each
// service's. They are written into the storage when it is formatted.
function developmentAccounts(): Array<{ user: string; password: string }> {
  return [
    BROKER_ACCOUNT,
    { user: brokerDefaults.KAFKA_USERNAME, password: brokerDefaults.KAFKA_PASSWORD },
    ...accountHolders.map(developmentAccountOf),
  ];
}

// KRaft refuses to start on an unformatted log dir. Formatting stamps it with a cluster id
// (data/meta.properties) and writes the first metadata, the SCRAM accounts among it; a formatted
// dir must never be formatted again or its topics and offsets are gone, so this runs only while
// meta.properties is missing, or when it was formatted with other accounts than developmentAccounts
// gives (a store formatted without accounts, or an account added since): the accounts live in
// the metadata, and a development broker's events are worth less than a broker nobody can sign in
// to. The log line says so.
function formatStorageOnce(java: string, log: (line: string) => void, home: KafkaHome): void {
  const accounts = developmentAccounts();
  // The accounts' names, and a hash of each password: the file shows who, never a password.
  const stamp = accounts.map(({ user, password }) => `${user} ${crypto.createHash('sha256').update(password).digest('hex')}\n`).join('');
  if (fs.existsSync(path.join(home.data, 'meta.properties'))) {
    if (readIfExists(home.accounts) === stamp) return;
    log(`  kafka: ${shown(home.data)} holds other accounts than infra:up makes; formatting it again (its topics are dropped)`);
    fs.rmSync(home.data, { recursive: true, force: true });
  }
  const clusterId = readIfExists(home.clusterId)?.trim() || newClusterId();
  fs.writeFileSync(home.clusterId, `${clusterId}\n`);
  log(`  kafka: formatting ${shown(home.data)} for cluster ${clusterId}, with ${accounts.length} accounts (once)`);
  const format = run(java, [
    ...log4j(),
    '-cp',
    classpath(),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    home.serverProperties,
    ...accounts.flatMap(({ user, password }) => ['--add-scram', `SCRAM-SHA-256=[name=${user},password=${password}]`]),
  ]);
  if (!format.ok) throw new Error(`formatting Kafka storage failed:\n${tail(format.output)}`);
  fs.writeFileSync(home.accounts, stamp);
}

// What `kafka-storage.sh random-uuid` prints, without starting a JVM for it: 16 random bytes
// in URL-safe base64 without padding. Kafka rerolls ids starting with '-' so they never look
// like a command-line flag (org.apache.kafka.common.Uuid#randomUuid).
function newClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

// java expands a classpath entry ending in /* to every jar in that folder itself, so no
// shell is involved (and none may be: a shell would expand the * first).
function classpath(): string {
  return path.join(files.libs, '*');
}

function log4j(): string[] {
  return [`-Dlog4j2.configurationFile=${files.log4jConfig}`];
}

// The first errors and their causes say why a broker died (a port taken, a bad setting);
// the last lines of its log are mostly the shutdown that followed.
function brokerExitedMessage(home: KafkaHome): string {
  const logText = readIfExists(home.log) ?? '';
  const errors = logText.split('\n').filter((line) => /\] (ERROR|FATAL) |^Caused by: /.test(line));
  const why = errors.length > 0 ? tail(errors.slice(0, 6).join('\n')) : tail(logText);
  return `the Kafka broker exited during start-up:\n${why}`;
}

// kill(pid, 0) succeeds for a zombie too: an exited broker whose parent has not reaped it.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readIfExists(`/proc/${pid}/stat`);
  // Format: "pid (command) STATE ..."; the command may contain spaces, so split after ')'.
  return !stat || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

// Adds (or, with `password` undefined, removes) a SCRAM-SHA-256 account on a running broker, with
// Kafka's own ConfigCommand from the same jars (kafkajs cannot alter SCRAM credentials), signed in
// as the operator: for an account the formatted storage does not hold, such as a spec's own.
export function alterKafkaAccount(bootstrap: string, user: string, password: string | undefined): void {
  // The broker may be another checkout's, or compose's: the jars here are resolved all the same.
  const java = kafkaJava(() => {});
  const properties = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'boxoffice-kafka-operator-')), 'operator.properties');
  fs.writeFileSync(properties, clientProperties(operatorKafkaAccount()));
  const change = password === undefined ? ['--delete-config', 'SCRAM-SHA-256'] : ['--add-config', `SCRAM-SHA-256=[password=${password}]`];
  const args = [
    '--bootstrap-server',
    bootstrap,
    '--command-config',
    properties,
    '--alter',
    ...change,
    '--entity-type',
    'users',
    '--entity-name',
    user,
  ];
  const result = run(java, [...log4j(), '-cp', classpath(), 'kafka.admin.ConfigCommand', ...args]);
  fs.rmSync(path.dirname(properties), { recursive: true, force: true });
  if (!result.ok)
    throw new Error(`could not ${password === undefined ? 'remove' : 'add'} the Kafka account ${user}:\n${tail(result.output)}`);
}
