// Runs Jest as native ESM: NestJS 12 is ESM-only and Jest loads ESM only with vm modules on.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const jestBin = fileURLToPath(new URL('../../node_modules/jest/bin/jest.js', import.meta.url));
const nodeOptions = [process.env.NODE_OPTIONS, '--experimental-vm-modules', '--no-warnings=ExperimentalWarning'].filter(Boolean).join(' ');
const result = spawnSync(process.execPath, [jestBin, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: nodeOptions },
});
process.exit(result.status ?? 1);
