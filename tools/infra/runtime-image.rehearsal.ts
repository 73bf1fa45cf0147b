// The runtime image without a Docker engine: a folder per service holding what the Dockerfile's
// runtime stage would put in /app (runtime-stage.ts reads the stage), and the image's CMD run
// from it as an unprivileged user with the image's environment and nothing of ours. A service
// that starts and gets ready from there needs no devDependency and no file the stage leaves out.
//
// What it cannot show: the base image's own contents (Debian slim, its Node build), the layers
// Docker really builds, or the network between containers; see the README's Docker section.

import { waitFor } from '@boxoffice/testing';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths.ts';
import { runtimeStagePlan, type RuntimeStagePlan } from './runtime-stage.ts';

export interface RehearsedService {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, as `docker stop` sends it, then how the process ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/** The user the rehearsal runs as when it is root: anyone but root, like the image's USER. */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined; // already not root
  const nobody = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find(([name]) => name === 'nobody');
  if (!nobody) throw new Error('no user "nobody" in /etc/passwd to run the rehearsal as');
  return { uid: Number(nobody[2]), gid: Number(nobody[3]) };
}

export class RuntimeImageRehearsal {
  private readonly user = unprivilegedUser();

  private constructor(
    /** Outside the repository on purpose: Node looks for node_modules in every parent folder. */
    readonly root: string,
    /** package*.json and `npm ci --omit=dev`, once: the layer the five images share. */
    private readonly dependencies: string,
  ) {}

  /** Installs the production dependencies once; takes about as long as one `npm ci --omit=dev`. */
  static async prepare(): Promise<RuntimeImageRehearsal> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxoffice-runtime-'));
    fs.chmodSync(root, 0o755);
    for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, 'node_modules')))
        throw new Error(`${dir}/node_modules would be visible to the rehearsal; use another TMPDIR`);
      if (dir === path.dirname(dir)) break;
    }
    const dependencies = path.join(root, 'dependencies');
    fs.mkdirSync(dependencies);
    for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(repoRoot, file), path.join(dependencies, file));
    // npm's cache already holds every tarball after the repository's own `npm ci`, so this
    // seldom touches the registry. The package.json copied along carries its allowScripts.
    const npm = spawn('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dependencies,
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout!.on('data', (chunk) => (output += chunk));
    npm.stderr!.on('data', (chunk) => (output += chunk));
    const [code] = await once(npm, 'exit');
    if (code !== 0) throw new Error(`npm ci --omit=dev failed (${code}):\n${output}`);
    return new RuntimeImageRehearsal(root, dependencies);
  }

  planOf(service: string): RuntimeStagePlan {
    return runtimeStagePlan(fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'), service);
  }

  /** The folder standing in for the service's image: its runtime stage's steps carried out, in order. */
  build(service: string): string {
    const folder = path.join(this.root, service);
    fs.rmSync(folder, { recursive: true, force: true });
    fs.mkdirSync(folder, { mode: 0o755 });
    for (const step of this.planOf(service).steps) {
      if (step.kind === 'install') {
        for (const file of ['package.json', 'package-lock.json']) {
          const copied = path.join(folder, file);
          if (!fs.existsSync(copied) || !fs.readFileSync(copied).equals(fs.readFileSync(path.join(this.dependencies, file)))) {
            throw new Error(`\`${step.instruction}\` runs before the stage has copied the ${file} it installs from`);
          }
        }
        // Hard links: the shared install, without copying 400 MB five times.
        const linked = spawnSync('cp', ['-al', path.join(this.dependencies, 'node_modules'), path.join(folder, 'node_modules')], {
          encoding: 'utf8',
        });
        if (linked.status !== 0) throw new Error(`linking node_modules failed: ${linked.stderr}`);
        continue;
      }
      const source = path.join(repoRoot, step.from);
      if (!fs.existsSync(source)) throw new Error(`\`${step.instruction}\`: ${step.from} does not exist (built? npm run build)`);
      fs.cpSync(source, path.join(folder, step.to), { recursive: true });
    }
    return folder;
  }

  /** The environment the image gives its CMD, and `extra` as compose's `environment:` would. */
  private environment(service: string, extra: Record<string, string>): Record<string, string> {
    return {
      // Node 24 from the `node` devDependency, the release the Dockerfile's image pins.
      PATH: [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
      HOME: '/nonexistent',
      ...this.planOf(service).env,
      ...extra,
    };
  }

  private spawnIn(folder: string, argv: ReadonlyArray<string>, env: Record<string, string>): ChildProcess {
    return spawn(argv[0]!, argv.slice(1), { cwd: folder, env, stdio: ['ignore', 'pipe', 'pipe'], ...this.user });
  }

  /** Runs the image's CMD in the service's folder and resolves once /health/ready answers 200. */
  async start(service: string, env: Record<string, string> & { PORT: string }, readyTimeoutMs = 60_000): Promise<RehearsedService> {
    const folder = path.join(this.root, service);
    const child = this.spawnIn(folder, this.planOf(service).command, this.environment(service, env));
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = once(child, 'exit');
    const url = `http://127.0.0.1:${env.PORT}`;
    const exitedEarly = () => child.exitCode !== null || child.signalCode !== null;
    try {
      await waitFor(
        async () => (exitedEarly() ? 0 : (await fetch(`${url}/health/ready`).catch(() => undefined))?.status),
        (status) => status === 200 || exitedEarly(),
        { timeoutMs: readyTimeoutMs, intervalMs: 250, description: `${service} to be ready` },
      );
      if (exitedEarly()) throw new Error(`${service} exited with ${child.exitCode ?? child.signalCode}`);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n--- ${service} output ---\n${output}`);
    }
    return {
      name: service,
      url,
      child,
      output: () => output,
      async stop() {
        if (!exitedEarly()) child.kill('SIGTERM');
        const [code, signal] = await exited;
        return { code: code as number | null, signal: signal as NodeJS.Signals | null };
      },
      async kill() {
        if (!exitedEarly()) child.kill('SIGKILL');
        await exited;
      },
    };
  }

  /** Runs a compose healthcheck's `test` (CMD or CMD-SHELL) in the service's folder; its exit code. */
  async healthcheck(
    service: string,
    test: ReadonlyArray<string>,
    env: Record<string, string>,
  ): Promise<{ code: number | null; output: string }> {
    const [form, ...rest] = test;
    const argv = form === 'CMD' ? rest : form === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : undefined;
    if (!argv) throw new Error(`a healthcheck test of form ${form} cannot be run`);
    const child = this.spawnIn(path.join(this.root, service), argv, this.environment(service, env));
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const [code] = await once(child, 'exit');
    return { code: code as number | null, output };
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
