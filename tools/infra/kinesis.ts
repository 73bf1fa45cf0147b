// A native Kinesis for machines without Docker: kinesis-local, the Scala.js build of
// kinesis-mock (https://github.com/etspaceman/kinesis-mock), one JavaScript file in
// node_modules/kinesis-local, run with this Node.
//
// Everything lives in .cache/kinesis/ (git-ignored):
//   server.log      the server's log (server.log.1 holds the previous run's)
//   kinesis.pid     its process id, for infra:down
// Nothing is persisted: streams live as long as the process (SHOULD_PERSIST_DATA=false), which
// is what a development server and the specs (streams of their own, deleted afterwards) want.
//
// It binds every interface and has no host setting, so it is only ever spoken to on 127.0.0.1.
// `node tools/infra/kinesis.ts stop` stops the one infra:up started (what infra:down runs).

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatAddress, type HostPort } from './addresses.ts';
import { cacheDir, repoRoot, shown } from './paths.ts';
import type { ProbeResult } from './probe.ts';

const home = {
  dir: path.join(cacheDir, 'kinesis'),
  log: path.join(cacheDir, 'kinesis', 'server.log'),
  pid: path.join(cacheDir, 'kinesis', 'kinesis.pid'),
};
const packageDir = path.join(repoRoot, 'node_modules', 'kinesis-local');
const mainJs = path.join(packageDir, 'main.js');

const PROBE_TIMEOUT_MS = 2_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * kinesis-mock's settings (its README, "Service Configuration"). Stream transitions take 500 ms
 * each by default; a spec creates and deletes streams per test, so 50 ms. The shard limit is
 * per account: every spec's streams and dead-letter streams count against it until deleted.
 */
function serverEnvironment(address: HostPort): NodeJS.ProcessEnv {
  const transition = '50ms';
  return {
    ...process.env,
    // Without it the JS build looks for server.json in its working directory and crashes.
    KINESIS_MOCK_CERT_PATH: path.join(packageDir, 'server.json'),
    KINESIS_MOCK_PLAIN_PORT: String(address.port),
    // The TLS port cannot be turned off; keep it next to the plain one, off every other server's.
    KINESIS_MOCK_TLS_PORT: String(address.port - 1),
    CREATE_STREAM_DURATION: transition,
    DELETE_STREAM_DURATION: transition,
    UPDATE_SHARD_COUNT_DURATION: transition,
    REGISTER_STREAM_CONSUMER_DURATION: transition,
    DEREGISTER_STREAM_CONSUMER_DURATION: transition,
    SHARD_LIMIT: '1000',
    SHOULD_PERSIST_DATA: 'false',
    LOAD_DATA_IF_EXISTS: 'false',
    LOG_LEVEL: process.env.KINESIS_LOG_LEVEL || 'WARN',
  };
}

/**
 * Ready once ListStreams answers 200 (JSON 1.1 over HTTP, as the AWS SDK speaks it). kinesis-mock
 * wants an Authorization header but never checks the signature, so a well-formed dummy does.
 */
export async function probeKinesis(address: HostPort): Promise<ProbeResult> {
  const url = `http://${formatAddress(address)}/`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'Kinesis_20131202.ListStreams',
        'X-Amz-Date': '20260101T000000Z',
        Authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
      },
      body: '{"Limit":1}',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return { state: 'absent', detail: `nothing answers ListStreams at ${url} (${cause}); set KINESIS_ENDPOINT to where Kinesis runs` };
  }
  const body = await response.text().catch(() => '');
  if (response.status !== 200) return { state: 'unready', detail: `ListStreams answered ${response.status}: ${body.slice(0, 200)}` };
  try {
    const streams = (JSON.parse(body) as { StreamNames?: unknown[] }).StreamNames;
    if (!Array.isArray(streams)) throw new Error('no StreamNames');
  } catch {
    return { state: 'unready', detail: `ListStreams answered 200 but not like Kinesis: ${body.slice(0, 200)}` };
  }
  return { state: 'ready', detail: 'answers ListStreams' };
}

export type NativeKinesis = { pid: number; exited: () => string | undefined };

/** Starts kinesis-local detached, so it outlives infra:up. Throws an Error saying what to do. */
export function startNativeKinesis(address: HostPort, log: (line: string) => void): NativeKinesis {
  if (!fs.existsSync(mainJs)) throw new Error(`kinesis-local is not installed (${shown(mainJs)}): npm ci`);
  const earlier = runningKinesisPid();
  if (earlier) {
    log(`  kinesis: the server started earlier (pid ${earlier}) is running but not answering yet; waiting for it`);
    return { pid: earlier, exited: () => (isAlive(earlier) ? undefined : exitedMessage()) };
  }
  fs.mkdirSync(home.dir, { recursive: true });
  if (fs.existsSync(home.log)) fs.renameSync(home.log, `${home.log}.1`);
  const out = fs.openSync(home.log, 'a');
  // This Node (24), not the machine's: the services and infra:up run on the same one.
  const child: ChildProcess = spawn(process.execPath, [mainJs], {
    cwd: home.dir,
    env: serverEnvironment(address),
    detached: true, // its own process group: Ctrl-C on infra:up must not take the server with it
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${process.execPath} ${shown(mainJs)}`);
  fs.writeFileSync(home.pid, `${child.pid}\n`);
  let exitCode: number | null = null;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 128 : 1)));
  return { pid: child.pid, exited: () => (exitCode === null ? undefined : exitedMessage()) };
}

/** SIGTERM, then wait for it to go. Returns what happened, or undefined if nothing ran. */
export async function stopNativeKinesis(): Promise<string | undefined> {
  const pid = runningKinesisPid();
  fs.rmSync(home.pid, { force: true });
  if (!pid) return undefined;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (!isAlive(pid)) return `kinesis-local stopped (pid ${pid})`;
  process.kill(pid, 'SIGKILL');
  return `kinesis-local did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM, killed (pid ${pid})`;
}

/** The pid in kinesis.pid, if that process is still kinesis-local (a pid can be reused). */
export function runningKinesisPid(): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(home.pid, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mainJs)) return undefined;
  } catch {
    // No /proc (macOS): trust the pid file.
  }
  return pid;
}

/** The command infra:down runs to stop exactly this server. */
export const stopKinesisCommand = [process.execPath, path.join(import.meta.dirname, 'kinesis.ts'), 'stop'];

function exitedMessage(): string {
  const lines = fs.existsSync(home.log) ? fs.readFileSync(home.log, 'utf8').trim().split('\n').slice(-5).join('\n    ') : '(no log)';
  return `kinesis-local exited; the end of ${shown(home.log)}:\n    ${lines}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

if (import.meta.filename === process.argv[1] && process.argv[2] === 'stop') {
  console.log((await stopNativeKinesis()) ?? 'kinesis-local was not running');
}
