// A native ActiveMQ Artemis broker for machines without Docker, from Maven Central's bin archive.
//
// Everything lives in .cache/artemis/ (git-ignored):
//   apache-artemis-<version>/   the distribution, unpacked once from the Maven artifact
//   instance/                   one broker instance, made once by `artemis create`: etc/ holds
//                               broker.xml, users and roles, and broker.properties (each
//                               service's role, from the catalog, written on every infra:up);
//                               data/ the journal (messages, queues and the address settings the
//                               transport adds at run time)
//   broker.log                  the broker's output (broker.log.1 holds the previous run's)
//   maven.log                   what Maven said when it fetched the archive
// The broker's pid is in instance/data/artemis.pid, where Artemis' own `artemis-service stop`
// (infra:down's stop command) looks for it. `rm -rf .cache/artemis` (broker stopped) starts over.
//
// Only one acceptor, AMQP on ACTIVEMQ_URL's port (61617): Artemis' defaults would also take 5672
// (RabbitMQ's) and 1883 (Mosquitto's), and 61616 is left to anything else that expects it.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
// eslint-disable-next-line @nx/enforce-module-boundaries -- infra:up runs under plain Node, which knows no path aliases
import { brokerAddress } from '../../libs/config/src/brokers.ts';
import type { HostPort } from './addresses.ts';
import { findExecutable, run, tail } from './commands.ts';
import { readIfExists, requireJava } from './jvm.ts';
import { cacheDir, shown } from './paths.ts';
import type { ProbeResult } from './probe.ts';

export const ARTEMIS_VERSION = '2.40.0';
// Newer bin archives are not published to Maven Central; 2.40.0 is the last that resolves.
const ARTIFACT = `org.apache.activemq:apache-artemis:${ARTEMIS_VERSION}:zip:bin`;
export const ARTEMIS_INSTALL_HINT =
  'ActiveMQ Artemis needs Java 17+, Maven and unzip: apt-get install -y openjdk-17-jre-headless maven unzip';

// A development broker with a few dozen queues; the default -Xmx is 2 GB, and -Xms is left at
// 512 MB by `artemis create`, which is more than the cap.
const JAVA_MEMORY = '256M';

const dir = path.join(cacheDir, 'artemis');
export const artemisFiles = {
  dir,
  home: path.join(dir, `apache-artemis-${ARTEMIS_VERSION}`),
  instance: path.join(dir, 'instance'),
  brokerXml: path.join(dir, 'instance', 'etc', 'broker.xml'),
  profile: path.join(dir, 'instance', 'etc', 'artemis.profile'),
  pid: path.join(dir, 'instance', 'data', 'artemis.pid'),
  log: path.join(dir, 'broker.log'),
  mavenLog: path.join(dir, 'maven.log'),
};

export type Credentials = { user: string; password: string };

/** The user and password in ACTIVEMQ_URL; the broker instance is created with them. */
export function activeMqCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const url = new URL(brokerAddress('ACTIVEMQ_URL', env));
  return { user: decodeURIComponent(url.username) || 'boxoffice', password: decodeURIComponent(url.password) || 'boxoffice' };
}

export type NativeArtemis = {
  pid: number;
  stop: string[];
  exited: () => string | undefined;
};

// Fetch and unpack the distribution and create the instance if missing, then start the broker
// detached so it outlives infra:up. Throws an Error whose message tells a person what to do.
export function startNativeArtemis(address: HostPort, log: (line: string) => void): NativeArtemis {
  fs.mkdirSync(dir, { recursive: true });
  const stop = [path.join(artemisFiles.instance, 'bin', 'artemis-service'), 'stop'];
  const earlier = runningArtemisPid();
  if (earlier) {
    log(`  activemq: the broker started earlier (pid ${earlier}) is running but not answering yet; waiting for it`);
    return { pid: earlier, stop, exited: () => (isAlive(earlier) ? undefined : brokerExitedMessage()) };
  }
  // Artemis' scripts find java as this does: JAVA_HOME, else the PATH.
  requireJava(17, `Artemis ${ARTEMIS_VERSION}`, ARTEMIS_INSTALL_HINT);
  fetchDistribution(log);
  createInstanceOnce(address, log);
  installArtemisAccounts();

  if (fs.existsSync(artemisFiles.log)) fs.renameSync(artemisFiles.log, `${artemisFiles.log}.1`);
  const out = fs.openSync(artemisFiles.log, 'a');
  // `artemis run` execs java, so the child's pid is the broker's.
  const child: ChildProcess = spawn(path.join(artemisFiles.instance, 'bin', 'artemis'), ['run'], {
    cwd: artemisFiles.instance,
    detached: true, // its own process group: Ctrl-C on infra:up must not take the broker with it
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${shown(artemisFiles.instance)}/bin/artemis`);
  fs.writeFileSync(artemisFiles.pid, `${child.pid}\n`);
  let exitCode: number | null = null;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : 1)));
  return { pid: child.pid, stop, exited: () => (exitCode === null ? undefined : brokerExitedMessage()) };
}

// The pid in the instance's pid file, if that process is still our broker.
export function runningArtemisPid(): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(artemisFiles.pid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(artemisFiles.instance)) return undefined;
  } catch {
    // No /proc (macOS): trust the pid file.
  }
  return pid;
}

function fetchDistribution(log: (line: string) => void): void {
  const artemis = path.join(artemisFiles.home, 'bin', 'artemis');
  if (fs.existsSync(artemis)) return;
  const mvn = findExecutable('mvn');
  if (!mvn) throw new Error(`Maven is not installed, and it is how Artemis is fetched. ${ARTEMIS_INSTALL_HINT}`);
  const unzip = findExecutable('unzip');
  if (!unzip) throw new Error(`unzip is not installed, and Artemis comes as a zip. ${ARTEMIS_INSTALL_HINT}`);
  log(`  activemq: fetching ${ARTIFACT} with Maven into ${shown(dir)} (once; log: ${shown(artemisFiles.mavenLog)})`);
  const download = path.join(dir, 'download');
  fs.rmSync(download, { recursive: true, force: true });
  const maven = run(mvn, ['-B', '-Dstyle.color=never', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${download}`], {
    timeoutMs: 15 * 60_000,
  });
  fs.writeFileSync(artemisFiles.mavenLog, `${maven.output}\n`);
  if (!maven.ok) throw new Error(`Maven could not fetch ${ARTIFACT}:\n${tail(maven.output)}`);
  // Unpacked beside and renamed into place, so a half-unpacked folder never looks complete.
  const unpacking = path.join(dir, 'unpacking');
  fs.rmSync(unpacking, { recursive: true, force: true });
  const unzipped = run(unzip, ['-q', path.join(download, `apache-artemis-${ARTEMIS_VERSION}-bin.zip`), '-d', unpacking]);
  if (!unzipped.ok) throw new Error(`unzip failed:\n${tail(unzipped.output)}`);
  fs.renameSync(path.join(unpacking, `apache-artemis-${ARTEMIS_VERSION}`), artemisFiles.home);
  fs.rmSync(unpacking, { recursive: true, force: true });
  fs.rmSync(download, { recursive: true, force: true });
}

// `artemis create` once; its broker.xml is then narrowed to what boxoffice needs. A created
// instance is never created again: its journal holds the queues and their messages.
function createInstanceOnce(address: HostPort, log: (line: string) => void): void {
  if (fs.existsSync(artemisFiles.brokerXml)) {
    const acceptor = /<acceptor name="artemis">tcp:\/\/([^:?]+):(\d+)/.exec(fs.readFileSync(artemisFiles.brokerXml, 'utf8'));
    if (acceptor && (acceptor[1] !== address.host || Number(acceptor[2]) !== address.port)) {
      throw new Error(
        `the broker instance in ${shown(artemisFiles.instance)} listens on ${acceptor[1]}:${acceptor[2]}, not where ACTIVEMQ_URL points; ` +
          `set ACTIVEMQ_URL back, or remove ${shown(dir)} to create it again`,
      );
    }
    return;
  }
  const { user, password } = activeMqCredentials();
  log(`  activemq: creating the broker instance ${shown(artemisFiles.instance)} for user ${user} (once)`);
  fs.rmSync(artemisFiles.instance, { recursive: true, force: true });
  const created = run(
    path.join(artemisFiles.home, 'bin', 'artemis'),
    [
      'create',
      '--silent',
      '--user',
      user,
      '--password',
      password,
      '--require-login',
      '--host',
      address.host,
      '--http-host',
      address.host,
      '--no-web',
      '--no-autotune',
      '--nio',
      '--java-memory',
      JAVA_MEMORY,
      // The one acceptor left is the "artemis" one, on the default port; the others would take
      // 5672 (AMQP), 1883 (MQTT), 61613 (STOMP) and 5445 (HornetQ).
      '--default-port',
      String(address.port),
      '--no-amqp-acceptor',
      '--no-hornetq-acceptor',
      '--no-mqtt-acceptor',
      '--no-stomp-acceptor',
      artemisFiles.instance,
    ],
    { timeoutMs: 120_000 },
  );
  if (!created.ok) throw new Error(`artemis create failed:\n${tail(created.output)}`);

  // -Xms to match -Xmx: create leaves -Xms512M, above a 256M cap.
  const profile = fs.readFileSync(artemisFiles.profile, 'utf8');
  fs.writeFileSync(artemisFiles.profile, profile.replace(/-Xms\S+/, `-Xms${JAVA_MEMORY}`));
  fs.writeFileSync(artemisFiles.brokerXml, narrowBrokerXml(fs.readFileSync(artemisFiles.brokerXml, 'utf8')));
}

/**
 * What boxoffice changes in the broker.xml `artemis create` wrote:
 * - the acceptor speaks AMQP only (it would speak CORE, STOMP, MQTT, OpenWire and HornetQ too);
 * - the critical analyzer logs instead of halting the broker: on a busy two-core development
 *   machine a long GC pause is not a reason to kill it.
 * Retries and dead letters are not set here: the transport adds address settings for each queue
 * it provisions, from its retry policy (libs/messaging-activemq, activemq.topology.ts).
 */
export function narrowBrokerXml(xml: string): string {
  const narrowed = xml
    .replace(/protocols=[A-Z,]+/, 'protocols=AMQP')
    .replace(/<critical-analyzer-policy>HALT<\/critical-analyzer-policy>/, '<critical-analyzer-policy>LOG</critical-analyzer-policy>');
  if (!narrowed.includes('protocols=AMQP;'))
    throw new Error('broker.xml has no acceptor with a protocols= list; did artemis create change?');
  return narrowed;
}

const accountFiles = {
  properties: new URL('artemis/broker.properties', import.meta.url),
  users: new URL('artemis/users.properties', import.meta.url),
  roles: new URL('artemis/roles.properties', import.meta.url),
};

/**
 * Each service's account and role on this machine's Artemis, as tools/infra/artemis/ holds them
 * (written from the catalog by npm run brokers:accounts): broker.properties (the roles' rights,
 * and management RBAC) is copied into the instance's etc/, and the accounts and roles are added to
 * its users and roles files, replacing any earlier lines of theirs. Artemis reads them again when
 * they change, so a running broker of ours takes a new catalog too; management RBAC itself is read
 * at start only. Returns whether anything changed.
 */
export function installArtemisAccounts(): boolean {
  const etc = path.join(artemisFiles.instance, 'etc');
  const writes: Array<[string, string]> = [
    [path.join(etc, 'broker.properties'), fs.readFileSync(accountFiles.properties, 'utf8')],
    [path.join(etc, 'artemis-users.properties'), withLines(path.join(etc, 'artemis-users.properties'), accountFiles.users)],
    [path.join(etc, 'artemis-roles.properties'), withLines(path.join(etc, 'artemis-roles.properties'), accountFiles.roles)],
  ];
  let changed = false;
  for (const [file, text] of writes) {
    if (readIfExists(file) === text) continue;
    fs.writeFileSync(file, text);
    changed = true;
  }
  return changed;
}

/** A properties file with `ours`' keys replaced by its lines (its comments once, at the end). */
function withLines(file: string, ours: URL): string {
  const lines = fs.readFileSync(ours, 'utf8').split('\n').filter(Boolean);
  const keys = new Set(lines.filter((line) => !line.startsWith('#')).map((line) => line.split('=')[0].trim()));
  const kept = (readIfExists(file) ?? '').split('\n').filter((line) => !lines.includes(line) && !keys.has(line.split('=')[0].trim()));
  while (kept.length > 0 && kept.at(-1) === '') kept.pop();
  return `${[...kept, ...lines].join('\n')}\n`;
}

function brokerExitedMessage(): string {
  const logText = readIfExists(artemisFiles.log) ?? '';
  const errors = logText.split('\n').filter((line) => / (ERROR|FATAL) |^Caused by: |^Error: /.test(line));
  return `the Artemis broker exited during start-up:\n${errors.length > 0 ? tail(errors.slice(0, 6).join('\n')) : tail(logText)}`;
}

/**
 * "Does it answer?" in AMQP 1.0, with the services' own credentials: the SASL protocol header,
 * then a SASL PLAIN init with ACTIVEMQ_URL's user and password. Artemis answers with its header
 * and its mechanisms, then an outcome: code 0 is a login the transport will also get, 1 a
 * refusal. Artemis opens its acceptor only once it is active (AMQ221007), so a broker that is
 * still starting reads as absent. https://docs.oasis-open.org/amqp/core/v1.0/os/amqp-core-security-v1.0-os.html#section-sasl
 */
export async function probeActiveMq(address: HostPort): Promise<ProbeResult> {
  const { user, password } = activeMqCredentials();
  const reply = await saslExchange(address, user, password);
  if ('result' in reply) return reply.result;
  if (reply.code === 0) return { state: 'ready', detail: `AMQP 1.0, logged in as ${user}` };
  if (reply.code === 1) {
    return { state: 'refused', detail: `ActiveMQ refused the login for user ${user}: set ACTIVEMQ_URL to the broker's user and password` };
  }
  return { state: 'unready', detail: `SASL outcome ${reply.code} for user ${user}` };
}

const SASL_HEADER = Buffer.from('AMQP\x03\x01\x00\x00', 'latin1');
const PROBE_TIMEOUT_MS = 2_000;

function saslExchange(address: HostPort, user: string, password: string): Promise<{ code: number } | { result: ProbeResult }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    let connected = false;
    let received = Buffer.alloc(0);
    let initSent = false;
    let settled = false;
    const finish = (value: { code: number } | { result: ProbeResult }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const fail = (detail: string) => finish({ result: { state: connected ? 'unready' : 'absent', detail } });
    const timer = setTimeout(
      () => fail(connected ? `no answer within ${PROBE_TIMEOUT_MS} ms` : `no connection within ${PROBE_TIMEOUT_MS} ms`),
      PROBE_TIMEOUT_MS,
    );
    socket.once('connect', () => {
      connected = true;
      socket.write(SASL_HEADER);
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      if (!received.subarray(0, 8).equals(SASL_HEADER)) {
        return fail(
          `answered ${JSON.stringify(received.toString('latin1', 0, 8))} to an AMQP 1.0 SASL header: is this an AMQP 1.0 broker?`,
        );
      }
      for (const frame of saslFrames(received.subarray(8))) {
        if (frame.descriptor === 0x40 && !initSent) {
          initSent = true;
          socket.write(saslPlainInit(user, password));
        } else if (frame.descriptor === 0x44) {
          return finish({ code: frame.firstByte });
        }
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNREFUSED' ? 'connection refused' : error.message));
    socket.once('close', () => fail('closed the connection without a complete answer'));
  });
}

// A SASL frame: size (4), data offset (1, in 4-byte words), type 1 (SASL), channel (2), then a
// described list: 0x00, a smallulong descriptor (0x53 nn), the list. Of sasl-outcome only the
// first field matters, the code (a ubyte, 0x50 nn).
function* saslFrames(bytes: Buffer): Generator<{ descriptor: number; firstByte: number }> {
  let at = 0;
  while (at + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(at);
    if (size < 8 || at + size > bytes.length) return;
    const body = bytes.subarray(at + bytes[at + 4] * 4, at + size);
    if (body[0] === 0x00 && body[1] === 0x53) {
      const list = body.subarray(3);
      // list8 (0xc0 size count), list32 (0xd0 size count, 4 bytes each); the first field follows.
      const fields = list[0] === 0xc0 ? list.subarray(3) : list[0] === 0xd0 ? list.subarray(9) : Buffer.alloc(0);
      yield { descriptor: body[2], firstByte: fields[0] === 0x50 ? fields[1] : fields[0] === 0x43 ? 0 : -1 };
    }
    at += size;
  }
}

// sasl-init (descriptor 0x41): mechanism PLAIN, initial response "\0user\0password".
function saslPlainInit(user: string, password: string): Buffer {
  const mechanism = Buffer.concat([Buffer.from([0xa3, 5]), Buffer.from('PLAIN')]);
  const response = Buffer.from(`\0${user}\0${password}`, 'utf8');
  const responseField = Buffer.alloc(5 + response.length);
  responseField[0] = 0xb0; // vbin32
  responseField.writeUInt32BE(response.length, 1);
  response.copy(responseField, 5);
  const fields = Buffer.concat([mechanism, responseField]);
  const list = Buffer.alloc(9);
  list[0] = 0xd0; // list32: size counts the count field and the fields
  list.writeUInt32BE(4 + fields.length, 1);
  list.writeUInt32BE(2, 5);
  const body = Buffer.concat([Buffer.from([0x00, 0x53, 0x41]), list, fields]);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header[4] = 2; // data offset: 2 words, the header alone
  header[5] = 1; // SASL frame
  return Buffer.concat([header, body]);
}

// kill(pid, 0) succeeds for a zombie too.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readIfExists(`/proc/${pid}/stat`);
  return !stat || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}
