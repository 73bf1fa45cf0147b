// NATS with JetStream, natively: Debian's `nats-server` (apt-get install -y nats-server), started
// with JetStream on and its store in .cache/nats/ (git-ignored):
//   server.log   the server's log
//   jetstream/   the streams, kept across restarts as JetStream keeps them
// `infra:down` stops the one infra:up started (by its pid), never one it only reused.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { formatAddress, type HostPort } from './addresses.ts';
import { findExecutable, tail } from './commands.ts';
import { cacheDir } from './paths.ts';
import type { ProbeResult } from './probe.ts';

export const natsHome = {
  dir: path.join(cacheDir, 'nats'),
  log: path.join(cacheDir, 'nats', 'server.log'),
  store: path.join(cacheDir, 'nats', 'jetstream'),
};

const PROBE_TIMEOUT_MS = 2_000;

/**
 * A NATS server greets every client with one `INFO {json}` line; it is ready for boxoffice when
 * that JSON says JetStream is on (a server without `-js` would take publishes and store nothing).
 * https://docs.nats.io/reference/reference-protocols/nats-protocol#info
 */
export function probeNats(address: HostPort): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.host, port: address.port });
    let connected = false;
    let received = '';
    const done = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => done({ state: connected ? 'unready' : 'absent', detail: `no answer within ${PROBE_TIMEOUT_MS} ms` }),
      PROBE_TIMEOUT_MS,
    );
    socket.once('connect', () => (connected = true));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end < 0) return;
      const line = received.slice(0, end);
      if (!line.startsWith('INFO '))
        return done({ state: 'unready', detail: `answered ${JSON.stringify(line.slice(0, 20))}: is this NATS?` });
      const info = JSON.parse(line.slice(5)) as { version?: string; jetstream?: boolean };
      if (!info.jetstream) return done({ state: 'refused', detail: `NATS ${info.version} runs without JetStream: start it with -js` });
      done({ state: 'ready', detail: `NATS ${info.version} with JetStream` });
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ state: connected ? 'unready' : 'absent', detail: error.code === 'ECONNREFUSED' ? 'connection refused' : error.message }),
    );
  });
}

/** Starts Debian's nats-server with JetStream, detached so it outlives infra:up. Throws what a person should do. */
export function startNativeNats(address: HostPort): { pid: number; stop: string[]; exited: () => string | undefined } {
  const server = findExecutable('nats-server');
  if (!server)
    throw new Error(`NATS is not running at ${formatAddress(address)} and is not installed: apt-get install -y nats-server, or run Docker`);
  fs.mkdirSync(natsHome.store, { recursive: true });
  const out = fs.openSync(natsHome.log, 'w');
  const child: ChildProcess = spawn(
    server,
    ['--jetstream', '--store_dir', natsHome.store, '--addr', address.host, '--port', String(address.port)],
    {
      detached: true, // its own process group: Ctrl-C on infra:up must not take the server with it
      stdio: ['ignore', out, out],
    },
  );
  fs.closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${server}`);
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    pid: child.pid,
    stop: ['kill', String(child.pid)],
    exited: () => (exited ? `nats-server exited during start-up:\n${tail(fs.readFileSync(natsHome.log, 'utf8'))}` : undefined),
  };
}
