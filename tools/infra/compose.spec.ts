import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';

// Checks docker-compose.yml the way Compose itself reads it, on machines without a Docker
// engine: Debian's docker-compose package (or the `docker compose` plugin) parses and resolves
// the file without contacting any daemon.
function composeConfig(...args: string[]) {
  const standalone = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', ...args], { encoding: 'utf8' });
  if (!standalone.error) return standalone;
  return spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', ...args], { encoding: 'utf8' });
}

describe('docker-compose.yml', () => {
  it('is accepted by `docker-compose config -q`', () => {
    const result = composeConfig('-q');
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('pins every image it pulls to a version', () => {
    // boxoffice/* images are the ones built here from the Dockerfile.
    const images = (composeConfig().stdout.match(/image: .+/g) ?? []).filter((line) => !line.includes('boxoffice/'));
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const image of images) expect(image).toMatch(/image: \S+:\d[\w.-]*$|image: \S+:v\d[\w.-]*$/);
  });

  it('runs the five services and the infrastructure with health checks', () => {
    const resolved = composeConfig().stdout;
    for (const service of ['postgres', 'rabbitmq', 'kafka', 'mailpit', 'checkout', 'billing', 'email', 'analytics', 'audit']) {
      const block = resolved.split(/\n {2}(?=\S)/).find((b) => b.startsWith(`${service}:`));
      expect(block).toBeDefined();
      expect(block).toContain('healthcheck:');
    }
  });
});
