import { describe, expect, it } from '@jest/globals';
import dockerfileUtils from 'dockerfile-utils';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.ts';
import { runtimeStagePlan } from './runtime-stage.ts';

// The Dockerfile is never built here (no Docker engine); these checks read it. The runtime
// image itself is rehearsed natively by runtime-image.int.spec.ts.
const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
const { ValidationSeverity } = dockerfileUtils;

/** Every problem dockerfile-utils can report, each as an error, one line apiece. */
function lint(content: string): string[] {
  const everything = ValidationSeverity.ERROR;
  return dockerfileUtils
    .validate(content, {
      deprecatedMaintainer: everything,
      directiveCasing: everything,
      emptyContinuationLine: everything,
      instructionCasing: everything,
      instructionCmdMultiple: everything,
      instructionEntrypointMultiple: everything,
      instructionHealthcheckMultiple: everything,
      instructionJSONInSingleQuotes: everything,
      instructionWorkdirRelative: everything,
    })
    .map((problem) => `Dockerfile:${problem.range.start.line + 1}: ${problem.message}`);
}

describe('the Dockerfile', () => {
  it('has nothing dockerfile-utils objects to', () => {
    expect(lint(dockerfile)).toEqual([]);
  });

  it('builds on an exact Node release, the one the tests and the rehearsal run on', () => {
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(image).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+(-slim)?$/);
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    expect(image).toBe(`node:${lock.packages['node_modules/node']?.version}-bookworm-slim`);
  });

  describe('its runtime stage, as the rehearsal reads it', () => {
    it("holds the lockfile's production dependencies and one service's compiled code and migrations", () => {
      const plan = runtimeStagePlan(dockerfile, 'billing');
      expect(plan.steps.map((step) => (step.kind === 'copy' ? `${step.from} -> ${step.to}` : step.kind))).toEqual([
        'package.json -> package.json',
        'package-lock.json -> package-lock.json',
        'install',
        'dist/libs -> dist/libs',
        'dist/apps/billing -> dist/apps/billing',
        'apps/billing/prisma -> apps/billing/prisma',
      ]);
      expect(plan.env).toEqual({ NODE_ENV: 'production', SERVICE: 'billing' });
      expect(plan.command).toEqual([
        '/bin/sh',
        '-c',
        'exec node --import ./dist/libs/telemetry/src/telemetry.register.js dist/apps/${SERVICE}/src/main.js',
      ]);
    });

    it('runs as a user other than root', () => {
      const { user } = runtimeStagePlan(dockerfile, 'billing');
      expect(user).not.toMatch(/^(root|0)(:|$)/);
      expect(user).not.toBe('');
    });

    it('refuses an instruction it could not rehearse rather than skip it', () => {
      const changed = dockerfile.replace('USER node', 'RUN chown -R node /app\nUSER node');
      expect(() => runtimeStagePlan(changed, 'billing')).toThrow(/cannot carry out `RUN chown -R node \/app`: a RUN it does not know/);
      const elsewhere = dockerfile.replace('COPY --from=build /app/dist/libs', 'COPY --from=deps /app/dist/libs');
      expect(() => runtimeStagePlan(elsewhere, 'billing')).toThrow(/only the build context and build's \/app\/ are known/);
    });
  });
});
