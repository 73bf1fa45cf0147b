import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@boxoffice/testing';
import { freePort } from './service-process.js';

/** A service to scrape: its job name and its base URL (`/metrics` is appended). */
export interface ScrapeTarget {
  readonly job: string;
  readonly url: string;
}

export interface PrometheusSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/**
 * Where Prometheus is: `PROMETHEUS_BIN`, Debian's /usr/bin/prometheus, or the PATH. Null if
 * none, for a spec to fail saying how to get it (`apt-get install prometheus`; .ci/run does it).
 */
export function findPrometheus(): string | null {
  const candidates = [process.env.PROMETHEUS_BIN, '/usr/bin/prometheus'].filter((path): path is string => Boolean(path));
  const found = candidates.find((path) => existsSync(path));
  if (found) return found;
  const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

/**
 * A real Prometheus for one spec, as a child process: on 127.0.0.1 on a free port, its storage
 * in a temporary folder, scraping the given services every `intervalSeconds`. Queried through
 * its HTTP API (`/api/v1/query`), as Grafana does.
 */
export class PrometheusProcess {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly folder: string,
    private readonly output: () => string,
  ) {}

  static async start(targets: ReadonlyArray<ScrapeTarget>, { intervalSeconds = 1 } = {}): Promise<PrometheusProcess> {
    const binary = findPrometheus();
    if (!binary) throw new Error('Prometheus is missing: apt-get install -y prometheus (Debian), or set PROMETHEUS_BIN to its binary');
    const folder = await mkdtemp(join(tmpdir(), 'boxoffice-prometheus-'));
    // JSON is YAML: no YAML writer needed.
    const config = {
      global: { scrape_interval: `${intervalSeconds}s`, scrape_timeout: `${intervalSeconds}s`, evaluation_interval: `${intervalSeconds}s` },
      scrape_configs: targets.map(({ job, url }) => ({
        job_name: job,
        metrics_path: '/metrics',
        static_configs: [{ targets: [new URL(url).host] }],
      })),
    };
    await writeFile(join(folder, 'prometheus.yml'), JSON.stringify(config, null, 2));
    const port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${join(folder, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(folder, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const prometheus = new PrometheusProcess(`http://127.0.0.1:${port}`, child, folder, () => output);
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
          return (await fetch(`${prometheus.url}/-/ready`)).status;
        },
        (status) => status === 200,
        { timeoutMs: 30_000, intervalMs: 200, description: "Prometheus's /-/ready" },
      );
    } catch (error) {
      await prometheus.stop();
      throw new Error(`${(error as Error).message}\n--- prometheus output ---\n${output}`);
    }
    return prometheus;
  }

  /** An instant query: one sample per series. */
  async query(promql: string): Promise<PrometheusSample[]> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${body.error}\n${this.output()}`);
    return body.data!.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** The value of a query that yields one series, or null while it yields none. */
  async scalar(promql: string): Promise<number | null> {
    const [first] = await this.query(promql);
    return first ? first.value : null;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.folder, { recursive: true, force: true });
  }
}
