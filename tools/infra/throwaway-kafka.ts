// A Kafka broker of its own, for a spec that must stop and start one under running clients:
// the same native broker infra:up runs (same jars, same settings template), on free ports and
// with its storage in a temporary folder, so that restarting it disturbs no other spec.
import fs from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { HostPort } from './addresses.ts';
import { startNativeKafka, stopNativeKafka } from './kafka.ts';
import { kafkaHome, type KafkaHome } from './paths.ts';
import { probeKafka, waitUntilReady } from './probe.ts';

export class ThrowawayKafka {
  /** The broker process this object started last. */
  private pid: number | undefined;

  private constructor(
    readonly address: HostPort,
    private readonly home: KafkaHome,
  ) {}

  /** Formats fresh storage and starts the broker; resolves once it answers metadata requests. */
  static async start(): Promise<ThrowawayKafka> {
    const home = kafkaHome(fs.mkdtempSync(path.join(os.tmpdir(), 'boxoffice-kafka-')));
    const broker = new ThrowawayKafka({ host: '127.0.0.1', port: await twoFreePorts() }, home);
    await broker.up();
    return broker;
  }

  /** For a kafkajs client: `createKafkaClient({ brokers: broker.brokers, ... })`. */
  get brokers(): string[] {
    return [`${this.address.host}:${this.address.port}`];
  }

  /** SIGTERM, as an orderly broker shutdown: it flushes its logs and closes client connections. */
  async stop(): Promise<void> {
    await stopNativeKafka(this.home);
    // stopNativeKafka goes by the pid file; make sure the process we started is gone whatever it says.
    if (this.pid !== undefined && isRunning(this.pid)) process.kill(this.pid, 'SIGKILL');
    this.pid = undefined;
  }

  /** Starts it again on the same storage: topics, records and committed offsets are all still there. */
  async up(): Promise<void> {
    const started = startNativeKafka(this.address, () => {}, this.home);
    this.pid = started.pid;
    const ready = await waitUntilReady('throwaway kafka', this.address, probeKafka, {
      timeoutMs: 60_000,
      log: () => {},
      stopIf: started.exited,
    });
    if (ready.state !== 'ready') throw new Error(`the throwaway Kafka broker did not start: ${ready.detail} (log: ${this.home.log})`);
  }

  /** Stops it and deletes its storage. */
  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.home.dir, { recursive: true, force: true });
  }
}

/** A port for the broker whose next port (its controller's) is free as well. */
async function twoFreePorts(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const port = await freePort(0);
    if ((await freePort(port + 1)) === port + 1) return port;
  }
  throw new Error('found no two free ports in a row for a throwaway Kafka broker');
}

/** Listens on `port` (0: any) and closes again; the port it got, or -1 if it was taken. */
async function freePort(port: number): Promise<number> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  // events.once rejects on an 'error' event, so a taken port rejects the 'listening' wait: that is the answer too.
  const [event] = await once(server, 'listening').then(
    () => ['listening'],
    () => ['error'],
  );
  if (event === 'error') return -1;
  const { port: got } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return got;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
