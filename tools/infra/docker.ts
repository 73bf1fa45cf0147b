// The Docker route: when a service is missing and a Docker engine answers, start its container
// from the repository's docker-compose.yml, the same definition the full stack runs with.

import { findExecutable, run, tail } from './commands.ts';
import { composeFile } from './paths.ts';

// No project name of our own: compose derives it from the folder, so these are the same
// containers a developer gets with `docker compose up` by hand in the repository.
const COMPOSE = ['compose', '-f', composeFile];

// The docker CLI alone is not enough (it is often installed without an engine): `docker info`
// exits 0 only when it reached a running daemon.
export function dockerEngineAnswers(): boolean {
  const docker = findExecutable('docker');
  return docker !== undefined && run(docker, ['info'], { timeoutMs: 15_000 }).ok;
}

// --wait returns once the container's healthcheck passes (Compose v2).
export function composeUp(service: string): void {
  const result = run('docker', [...COMPOSE, 'up', '-d', '--wait', '--wait-timeout', '180', service], { timeoutMs: 300_000 });
  if (!result.ok) throw new Error(`docker compose up ${service} failed:\n${tail(result.output)}`);
}

// Stops and removes the project's containers and network; named volumes (the databases) stay.
export function composeDown(): { ok: boolean; output: string } {
  return run('docker', [...COMPOSE, 'down'], { timeoutMs: 300_000 });
}
