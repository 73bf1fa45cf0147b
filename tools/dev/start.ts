// `npm start`: the five services natively, with their infrastructure, in one terminal.
// Brings PostgreSQL, RabbitMQ and Kafka up (reusing what runs), builds, then runs every service
// with its logs prefixed by its name, and a mail sink that prints what Email sends (unless an
// SMTP server such as Mailpit already listens on 1025). Ctrl-C stops each: in-flight work finishes.
import { spawnSync } from 'node:child_process';
import concurrently from 'concurrently';
import { nicenessOf } from './cpu-priority.ts';

const services = [
  { name: 'checkout', color: 'cyan' },
  { name: 'billing', color: 'magenta' },
  { name: 'email', color: 'yellow' },
  { name: 'analytics', color: 'green' },
  { name: 'audit', color: 'blue' },
];

/** `nice -n N ` before a subscriber's command, so that it yields the CPU to the sale (cpu-priority.ts); Windows has no `nice`. */
function niceOf(service: string): string {
  const niceness = nicenessOf(service);
  return niceness > 0 && process.platform !== 'win32' ? `nice -n ${niceness} ` : '';
}

function step(title: string, command: string, args: string[]): void {
  console.log(`\n> ${title}`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${title} failed; nothing was started.`);
    process.exit(result.status ?? 1);
  }
}

step('infrastructure', process.execPath, ['--env-file-if-exists=.env', 'tools/infra/up.ts']);
step('build', process.execPath, [
  'node_modules/nx/dist/bin/nx.js',
  'run-many',
  '-t',
  'build',
  '--projects=tag:type:app',
  '--output-style=static',
]);

console.log('\n> services (Ctrl-C stops them all)');
const { result } = concurrently(
  [
    ...services.map(({ name, color }) => ({
      name,
      prefixColor: color,
      command: `${niceOf(name)}node --env-file-if-exists=.env --import ./dist/libs/telemetry/src/telemetry.register.js dist/apps/${name}/src/main.js`,
    })),
    { name: 'mail', prefixColor: 'gray', command: 'node tools/dev/mail-sink.ts' },
  ],
  { prefix: 'name', killOthersOn: ['failure'], killSignal: 'SIGTERM' },
);
result.then(
  () => process.exit(0),
  () => process.exit(1),
);
