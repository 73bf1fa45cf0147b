// Restarting the servers under a chaos cell, with infra:up's own functions: only a server that
// infra:up started natively is ours to stop and start (its record in .cache/infra-started.json
// says how); RabbitMQ and PostgreSQL, usually the machine's own services, only with
// BENCH_CHAOS_RESTART_ALL=1, through Debian's commands. Anything else is left alone, and the
// bench says so.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { infraAddresses } from '../infra/addresses.ts';
import { stopNativeKafka } from '../infra/kafka.ts';
import { waitUntilReady } from '../infra/probe.ts';
import { INFRA_SERVICES } from '../infra/services.ts';
import { readStarted, writeStarted, type ServiceName } from '../infra/state.ts';

const exec = promisify(execFile);
export const restartAll = process.env.BENCH_CHAOS_RESTART_ALL === '1';

/** Why `name` may not be restarted here, or undefined if it may. */
export function whyNotRestartable(name: ServiceName): string | undefined {
  // Its streams live in memory. Its optional persistence writes a snapshot on an interval: a
  // restart loses the records of the last interval, acknowledged ones too, and hands out sequence
  // numbers again below the consumers' checkpoints (tried: 394 orders left pending). No Kinesis
  // loses an acknowledged record, so restarting this one tests the emulator, not boxoffice.
  if (name === 'kinesis') return 'kinesis-local loses acknowledged records across a restart, which Kinesis never does';
  if (name === 'rabbitmq' || name === 'postgres')
    return restartAll ? undefined : `${name} is restarted only with BENCH_CHAOS_RESTART_ALL=1 (it serves the whole machine)`;
  return nativeRecord(name) ? undefined : `${name} was not started natively by infra:up`;
}

/** What infra:up recorded of a server it started natively (how to stop it), or undefined. */
function nativeRecord(name: ServiceName) {
  const entry = readStarted()[name];
  return entry?.via === 'native' ? entry : undefined;
}

/** Stops `name` and starts it again, then waits until it answers as infra:up does. Throws if it does not come back. */
export async function restartServer(name: ServiceName, log: (line: string) => void): Promise<void> {
  const why = whyNotRestartable(name);
  if (why) throw new Error(`not restarting ${name}: ${why}`);
  const service = INFRA_SERVICES.find((s) => s.name === name)!;
  const address = infraAddresses()[name];
  if (name === 'rabbitmq') {
    await exec('rabbitmqctl', ['stop_app']);
    await exec('rabbitmqctl', ['start_app']);
  } else if (name === 'postgres') {
    await exec('pg_ctlcluster', ['--skip-systemctl-redirect', ...(await postgresCluster(address.port)), 'restart']);
  } else {
    await stopNative(name);
    const native = service.startNative(address, log);
    // The new process is the one infra:down must stop.
    const started = readStarted();
    started[name] = { via: 'native', at: new Date().toISOString(), stop: native.stop ?? nativeRecord(name)?.stop, pid: native.pid };
    writeStarted(started);
  }
  const ready = await waitUntilReady(name, address, service.probe, { timeoutMs: service.startTimeoutMs, log });
  if (ready.state !== 'ready') throw new Error(`${name} did not come back: ${ready.detail}`);
}

async function stopNative(name: ServiceName): Promise<void> {
  if (name === 'kafka') {
    await stopNativeKafka();
    return;
  }
  const [command, ...args] = nativeRecord(name)?.stop ?? [];
  if (!command) throw new Error(`infra:up recorded no stop command for ${name}`);
  // Asynchronously: the flow goes on while the server stops.
  await exec(command, args, { timeout: 60_000 });
}

/** The version and name of the PostgreSQL cluster on `port`, as pg_lsclusters lists it. */
async function postgresCluster(port: number): Promise<[string, string]> {
  const { stdout } = await exec('pg_lsclusters', ['--no-header']);
  const line = stdout.split('\n').find((l) => l.trim().split(/\s+/)[2] === String(port));
  if (!line) throw new Error(`no PostgreSQL cluster on port ${port} (pg_lsclusters)`);
  const [version, cluster] = line.trim().split(/\s+/);
  return [version, cluster];
}
