// `npm test`: every test against the real PostgreSQL, RabbitMQ and Kafka.
//   1. infra:up - reuse what answers, else start it (Kafka from Maven's jars, cached in .cache/);
//   2. build every project (Prisma clients generated, everything type-checked) and lint it;
//   3. type-check the k6 scripts against @types/k6;
//   4. Jest: unit (*.spec.ts), integration (*.int.spec.ts) and end-to-end (*.e2e.spec.ts) tiers.
// Extra arguments go to Jest, e.g. `npm test -- --selectProjects messaging`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { ensureInfra } from '../infra/infra.ts';

const nx = ['node_modules/nx/bin/nx.js'];
const started = Date.now();

function run(title: string, args: string[]): void {
  console.log(`\n> ${title}`);
  const t0 = Date.now();
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n${title} failed.`);
    process.exit(result.status ?? 1);
  }
  console.log(`  (${title}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

console.log('> infrastructure');
const infra = await ensureInfra();
if (!infra.ok) {
  console.error('\nThe tests need PostgreSQL, RabbitMQ and Kafka; see the lines above.');
  process.exit(1);
}

run('build and lint', [...nx, 'run-many', '-t', 'build', 'lint', '--output-style=static']);
if (existsSync('k6/tsconfig.json')) run('type-check k6 scripts', ['node_modules/typescript/bin/tsc', '-p', 'k6/tsconfig.json']);

mkdirSync('tmp', { recursive: true });
const resultsFile = 'tmp/jest-results.json';
console.log('\n> jest');
const jest = spawnSync(
  process.execPath,
  ['tools/test/jest.ts', '--maxWorkers=3', '--json', `--outputFile=${resultsFile}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number };
  console.log(`\nnpm test finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // One plain closing line, whatever the runner prints above it.
  console.log(`${results.numPassedTests} passed, ${results.numFailedTests} failed${results.numPendingTests ? `, ${results.numPendingTests} skipped` : ''}`);
}
process.exit(jest.status ?? 1);
