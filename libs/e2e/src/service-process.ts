import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { waitFor } from '@boxoffice/testing';

export interface ServiceProcess {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** `performance.now()` right after the process was spawned: restart figures count from here. */
  readonly spawnedAt: number;
  /** Everything the process printed, for the failure message of a test. */
  output(): string;
  /** SIGTERM, then waits for the exit: the graceful way. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, nothing finished or closed. */
  kill(): Promise<void>;
}

/** The module every service is started with (`node --import`): tracing when an OTLP endpoint is set. */
export const TELEMETRY_REGISTER = './dist/libs/telemetry/src/telemetry.register.js';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * The health check to wait for (libs/platform's HealthController): `ready` (everything, the
 * default), `accepting` (its database: it takes requests), `consuming` (brokers, relay,
 * consumers), `live` (it serves HTTP), or `nothing`, to return at once and measure the start.
 */
export type StartWaitsFor = 'ready' | 'accepting' | 'consuming' | 'live' | 'nothing';

export interface StartOptions {
  readonly waitFor?: StartWaitsFor;
  /** How long the check may take to pass. Default 45 s. */
  readonly timeoutMs?: number;
  /**
   * Runs the process at this niceness (Unix `nice`, every thread of it): above 0 it yields the CPU
   * to the others whenever they want it. Default 0, as the others.
   */
  readonly niceness?: number;
}

/**
 * Runs a built service (`dist/apps/<name>/src/main.js`) as its own process, the way `npm start`
 * and the Docker image do, and resolves once its `/health/<waitFor>` answers 200 (`ready` unless
 * told otherwise).
 */
export async function startServiceProcess(
  name: string,
  env: Record<string, string>,
  { waitFor: check = 'ready', timeoutMs = 45_000, niceness = 0 }: StartOptions = {},
): Promise<ServiceProcess> {
  const entry = `dist/apps/${name}/src/main.js`;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);
  const port = env.PORT ?? String(await freePort());
  // Tracing starts (or not, without an OTLP endpoint in env) before the app loads: libs/telemetry.
  const node = [process.execPath, '--import', TELEMETRY_REGISTER, entry];
  // `nice` replaces itself with node: the pid is still the service's.
  const [command, ...args] = niceness === 0 ? node : ['nice', '-n', String(niceness), ...node];
  const child = spawn(command, args, {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: port, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnedAt = performance.now();
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const exitedEarly = () => child.exitCode !== null || child.signalCode !== null;

  if (check !== 'nothing') {
    try {
      await waitFor(
        async () => {
          if (exitedEarly()) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}`);
          return (await fetch(`${url}/health/${check}`)).status;
        },
        (status) => status === 200 || exitedEarly(),
        { timeoutMs, intervalMs: 200, description: `${name}'s /health/${check} to answer 200` },
      );
      if (exitedEarly()) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}`);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${output}`);
    }
  }

  return {
    name,
    url,
    child,
    spawnedAt,
    output: () => output,
    async stop() {
      if (!exitedEarly()) child.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
    async kill() {
      if (!exitedEarly()) child.kill('SIGKILL');
      await exited;
    },
  };
}
