// `npm test`: every test against the real PostgreSQL, RabbitMQ and Kafka.
//   1. infra:up - reuse what answers, else start it (Kafka from Maven's jars, cached in .cache/);
//   2. build every project (Prisma clients generated, everything type-checked), lint it, and check
//      its formatting (Prettier);
//   3. type-check the k6 scripts against @types/k6;
//   4. Jest: unit (*.spec.ts), integration (*.int.spec.ts) and end-to-end (*.e2e.spec.ts) tiers,
//      then, alone, the specs that restart a broker or time a restart (*.disruptive.*.spec.ts).
// Extra arguments go to Jest (and skip the disruptive phase), e.g. `npm test -- --selectProjects messaging`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { allServers, ensureInfra } from '../infra/infra.ts';

const nx = ['node_modules/nx/dist/bin/nx.js'];
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
// Every server: the suite proves every transport against its real broker.
const infra = await ensureInfra({ only: allServers() });
if (!infra.ok) {
  console.error('\nThe tests need PostgreSQL and every broker (RabbitMQ, Kafka, ActiveMQ, SQS, Kinesis); see the lines above.');
  process.exit(1);
}

run('build and lint', [...nx, 'run-many', '-t', 'build', 'lint', '--output-style=static']);
run('format check (Prettier)', ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level=warn', '.']);
if (existsSync('k6/tsconfig.json')) run('type-check k6 scripts', ['node_modules/typescript/bin/tsc', '-p', 'k6/tsconfig.json']);

mkdirSync('tmp', { recursive: true });
interface JestResults {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
}

/** Runs Jest and reads its results; the specs that restart a broker run alone, after the rest. */
function jest(title: string, file: string, args: string[]): { ok: boolean; results: JestResults | null } {
  console.log(`\n> ${title}`);
  rmSync(file, { force: true });
  const result = spawnSync(process.execPath, ['tools/test/jest.ts', '--json', `--outputFile=${file}`, ...args], { stdio: 'inherit' });
  const results = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as JestResults) : null;
  return { ok: result.status === 0, results };
}

const extra = process.argv.slice(2);
const runs = [jest('jest', 'tmp/jest-results.json', ['--maxWorkers=3', ...extra])];
if (extra.length === 0) {
  runs.push(
    jest('jest: specs that restart a broker or time a restart, one at a time', 'tmp/jest-disruptive-results.json', [
      '--runInBand',
      '--testPathIgnorePatterns=/node_modules/',
      '--testPathPatterns=\\.disruptive\\.',
    ]),
  );
}

const total = { passed: 0, failed: 0, skipped: 0 };
for (const { results } of runs) {
  total.passed += results?.numPassedTests ?? 0;
  total.failed += results?.numFailedTests ?? 0;
  total.skipped += results?.numPendingTests ?? 0;
}
console.log(`\nnpm test finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
// One plain closing line for the whole run, whatever the runner printed above it.
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`);
process.exit(runs.every((run) => run.ok && run.results !== null) ? 0 : 1);
