// `npm run bench:fanout`: how fast one stream of events fans out to three subscribers.
//
// Starts Checkout, Email, Analytics and Audit as processes in a fresh namespace with fresh
// databases (TestSystem), and an SMTP server in this process for Email to send to. The users
// topic gets FANOUT_PARTITIONS (default 12) partitions and each subscriber handles that many at
// once (KAFKA_CONCURRENCY): one event in flight per partition is what bounds a group. Then:
//   1. with only Checkout running, writes FANOUT_EVENTS (default 50,000) sign-ups straight into Checkout's database, in
//      batches: the user row and its UserRegistered event in the outbox, in one transaction each
//      batch, exactly what POST /users writes. Not through the API, so that the HTTP layer's cost
//      does not hide the fan-out's; Checkout's outbox relay publishes them to Kafka as usual, and
//      once all are published Email, Analytics and Audit start and drain the backlog together;
//   2. waits until Email has sent, Analytics has counted and Audit has recorded every one, and
//      reads from each service's database when it processed each event: Email's sent_email.sent_at
//      (the SMTP server accepted the mail), Analytics' inbox_message.received_at, Audit's
//      audit_log.recorded_at;
//   3. damages Analytics' numbers and times `analytics:rebuild`, run while Analytics runs.
// Cleans up (processes, databases, the namespace on the brokers) and prints one JSON line last.
// `-- --cpu-prof`: Checkout, the subscribers and the rebuild tool each write a V8 CPU profile when
// they stop, into results/cpu-profiles-fanout-<time>/.
//
// The latencies are those of a burst: all events are written within seconds and then queue, so
// the p99 says how long the last events of the burst waited, not how long one event takes alone.
import { spawnSync } from 'node:child_process';
import { TestSystem } from '@boxoffice/e2e';
import { ensureBenchServers } from './bench.servers.ts';
import { runFanoutBench } from './fanout.run.ts';

const services = ['checkout', 'email', 'analytics', 'audit'] as const;

console.log('building the services (cached when nothing changed)');
const build = spawnSync(
  process.execPath,
  ['node_modules/.bin/nx', 'run-many', '-t', 'build', `--projects=${services.join(',')}`, '--output-style=static'],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (build.status !== 0) throw new Error('the build failed; run `npm run build` to see why');

// Full-size pools: the bench runs alone and measures the services as they are configured.
await ensureBenchServers('bench:fanout');
const cpuProfiles = process.argv.includes('--cpu-prof')
  ? `results/cpu-profiles-fanout-${new Date().toISOString().replace(/[:.]/g, '-')}`
  : null;
await runFanoutBench(new TestSystem({}), services, { cpuProfiles });
