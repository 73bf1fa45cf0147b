// Finding and running the external programs infra:up relies on (pg_ctlcluster, java, mvn,
// docker, ...). Missing programs are an expected outcome here, not an exception: the caller
// turns them into a "here is how to install it" message.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// Debian installs the server-side programs (rabbitmq-server, pg_ctlcluster's helpers) in sbin
// directories that a non-login shell often leaves off PATH.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...EXTRA_DIRS];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export type RunResult = { ok: boolean; output: string };

// Run to completion and capture stdout+stderr; `ok` is exit code 0.
export function run(command: string, args: string[], options: { timeoutMs?: number; cwd?: string } = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim();
  return { ok: result.status === 0, output };
}

// The last lines of some output, indented, for error messages that must stay readable.
export function tail(text: string, lines = 15): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((line) => `    ${line}`)
    .join('\n');
}
