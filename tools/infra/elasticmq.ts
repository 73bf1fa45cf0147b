// ElasticMQ, an SQS-compatible queue server on the JVM, for machines without Docker: what the
// SQS transport (libs/messaging-sqs) talks to locally. Built from Maven Central jars like the
// native Kafka (kafka.ts).
//
// Everything lives in .cache/elasticmq/ (git-ignored):
//   lib/               the server's jars, resolved once from tools/infra/elasticmq/pom.xml
//   elasticmq.conf     written from tools/infra/elasticmq/elasticmq.conf.template on every start
//   server.log         the server's log (server.log.1 holds the previous run's)
//   maven.log          what Maven said while resolving the jars
//   elasticmq.pid      the server's process id, for infra:down
//   data/              the queues and their messages (H2), kept across restarts as SQS keeps them
//
// `node tools/infra/elasticmq.ts --stop` stops the server this file started; infra:down runs it.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, type HostPort } from './addresses.ts';
import { tail } from './commands.ts';
import { readIfExists, requireJava, resolveMavenJars } from './jvm.ts';
import { cacheDir, shown } from './paths.ts';
import type { ProbeResult } from './probe.ts';

export const ELASTICMQ_INSTALL_HINT = 'ElasticMQ needs Java 11+ and Maven: apt-get install -y openjdk-17-jre-headless maven';

const sourceDir = path.join(import.meta.dirname, 'elasticmq');
const home = path.join(cacheDir, 'elasticmq');
export const elasticmq = {
  pom: path.join(sourceDir, 'pom.xml'),
  template: path.join(sourceDir, 'elasticmq.conf.template'),
  lib: path.join(home, 'lib'),
  // A hash of the pom the jars in lib/ were resolved from; a different pom means resolve again.
  libStamp: path.join(home, 'lib', '.resolved-from-pom.sha256'),
  mavenLog: path.join(home, 'maven.log'),
  conf: path.join(home, 'elasticmq.conf'),
  /** The queues and their messages, kept across restarts. */
  data: path.join(home, 'data'),
  log: path.join(home, 'server.log'),
  pid: path.join(home, 'elasticmq.pid'),
};

const MAIN_CLASS = 'org.elasticmq.server.Main';

// An in-memory queue server for a few dozen queues: a small heap, on a machine it shares with
// PostgreSQL, the other brokers and five services.
const JVM_OPTIONS = ['-Xmx256m', '-XX:+UseSerialGC'];

const STOP_TIMEOUT_MS = 15_000;
const PROBE_TIMEOUT_MS = 2_000;

export type NativeElasticMq = {
  pid: number;
  // Why the server is no longer running, or undefined while it is.
  exited: () => string | undefined;
};

// Resolve the jars if needed, write the config and start the server detached, so it outlives
// infra:up. Throws an Error whose message tells a person what to do.
export function startNativeElasticMq(address: HostPort, log: (line: string) => void): NativeElasticMq {
  fs.mkdirSync(home, { recursive: true });
  const conf = config(address);

  const earlier = runningServerPid();
  if (earlier) {
    if (readIfExists(elasticmq.conf) !== conf) {
      throw new Error(`ElasticMQ (pid ${earlier}) runs with other settings (another SQS_ENDPOINT?); stop it first: npm run infra:down`);
    }
    log(`  sqs: the ElasticMQ started earlier (pid ${earlier}) is running but not answering yet; waiting for it`);
    return { pid: earlier, exited: () => (isAlive(earlier) ? undefined : exitedMessage()) };
  }

  const java = requireJava(11, 'ElasticMQ 1.7', ELASTICMQ_INSTALL_HINT);
  resolveMavenJars(
    {
      service: 'sqs',
      product: 'ElasticMQ',
      pom: elasticmq.pom,
      lib: elasticmq.lib,
      stamp: elasticmq.libStamp,
      mavenLog: elasticmq.mavenLog,
      installHint: ELASTICMQ_INSTALL_HINT,
      timeoutMs: 10 * 60_000,
    },
    log,
  );
  fs.writeFileSync(elasticmq.conf, conf);
  if (fs.existsSync(elasticmq.log)) fs.renameSync(elasticmq.log, `${elasticmq.log}.1`);
  const out = fs.openSync(elasticmq.log, 'a');
  log(`  sqs: starting ElasticMQ on ${formatAddress(address)} (log: ${shown(elasticmq.log)})`);
  // java expands a classpath entry ending in /* itself; no shell is involved.
  const child: ChildProcess = spawn(
    java,
    [...JVM_OPTIONS, `-Dconfig.file=${elasticmq.conf}`, '-cp', path.join(elasticmq.lib, '*'), MAIN_CLASS],
    {
      cwd: home,
      detached: true, // its own process group: Ctrl-C on infra:up must not take the server with it
      stdio: ['ignore', out, out],
    },
  );
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${java}`);
  fs.writeFileSync(elasticmq.pid, `${child.pid}\n`);
  let exitCode: number | null = null;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : 1)));
  return { pid: child.pid, exited: () => (exitCode === null ? undefined : exitedMessage()) };
}

// The command infra:down runs to stop it (state.ts records it): this file, with --stop.
export function stopCommand(): string[] {
  return [process.execPath, import.meta.filename, '--stop'];
}

// SIGTERM, then wait for the process to go. Returns what happened, or undefined if nothing ran.
export async function stopNativeElasticMq(): Promise<string | undefined> {
  const pid = runningServerPid();
  fs.rmSync(elasticmq.pid, { force: true });
  if (!pid) return undefined;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (!isAlive(pid)) return `ElasticMQ stopped (pid ${pid})`;
  process.kill(pid, 'SIGKILL');
  return `ElasticMQ did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM, killed (pid ${pid})`;
}

// The pid in elasticmq.pid, if that process is still our server (a pid can be reused).
export function runningServerPid(): number | undefined {
  const pid = Number(readIfExists(elasticmq.pid)?.trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const commandLine = readIfExists(`/proc/${pid}/cmdline`);
  // No /proc (macOS): trust the pid file.
  if (commandLine !== undefined && !(commandLine.includes(MAIN_CLASS) && commandLine.includes(elasticmq.conf))) return undefined;
  return pid;
}

// Ready once the server answers an SQS ListQueues call in the JSON protocol the AWS SDK speaks
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListQueues.html),
// with Node built-ins only, like the other probes. Credentials are not checked by ElasticMQ.
export function probeSqs(address: HostPort): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let connected = false;
    const request = http.request(
      {
        host: address.host,
        port: address.port,
        method: 'POST',
        path: '/',
        timeout: PROBE_TIMEOUT_MS,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          let queues: unknown;
          try {
            queues = (JSON.parse(body) as { QueueUrls?: unknown }).QueueUrls;
          } catch {
            // not JSON: not SQS
          }
          if (response.statusCode === 200 && (queues === undefined || Array.isArray(queues))) {
            resolve({ state: 'ready', detail: `answers SQS ListQueues (${Array.isArray(queues) ? queues.length : 0} queues)` });
          } else {
            resolve({ state: 'unready', detail: `answered ListQueues with HTTP ${response.statusCode}: ${body.slice(0, 120)}` });
          }
        });
      },
    );
    request.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    request.on('timeout', () =>
      request.destroy(new Error(connected ? `no answer within ${PROBE_TIMEOUT_MS} ms` : `no connection within ${PROBE_TIMEOUT_MS} ms`)),
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ state: connected ? 'unready' : 'absent', detail: error.code === 'ECONNREFUSED' ? 'connection refused' : error.message }),
    );
    request.end('{}');
  });
}

function config(address: HostPort): string {
  fs.mkdirSync(elasticmq.data, { recursive: true });
  const values: Record<string, string> = { host: address.host, port: String(address.port), dataDir: elasticmq.data };
  return fs.readFileSync(elasticmq.template, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`unknown placeholder {{${name}}} in ${shown(elasticmq.template)}`);
    return values[name];
  });
}

// A server that died says why in its first errors (a port taken, a bad setting).
function exitedMessage(): string {
  const logText = readIfExists(elasticmq.log) ?? '';
  const errors = logText.split('\n').filter((line) => /\b(ERROR|Exception)\b/.test(line));
  return `ElasticMQ exited during start-up:\n${tail(errors.length > 0 ? errors.slice(0, 6).join('\n') : logText)}`;
}

// kill(pid, 0) succeeds for a zombie too: an exited server whose parent has not reaped it.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readIfExists(`/proc/${pid}/stat`);
  return !stat || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

if (process.argv[1] === import.meta.filename && process.argv.includes('--stop')) {
  console.log((await stopNativeElasticMq()) ?? 'ElasticMQ was not running');
}
