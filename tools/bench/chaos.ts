// `npm run bench:chaos`: assured delivery under the faults operators meet, as a matrix of fault
// x transport pair, each cell reconciled ledger by ledger.
//
// Faults (chaos.faults.ts): `kill` (Billing twice, Checkout, Email SIGKILLed in turn),
// `poison-outbox-row`, `smtp-slow` (70 s per mail), `smtp-absent`, `rabbitmq-memory-alarm`
// (pairs with RabbitMQ; 10 s at most), `proxy` (a TcpFaultProxy between the services and each
// broker: latency, resets, blackhole), `broker-restart` (the pair's brokers that infra:up started
// natively; RabbitMQ only with BENCH_CHAOS_RESTART_ALL=1), `postgres-restart`
// (BENCH_CHAOS_RESTART_ALL=1 only).
// Pairs: rabbitmq+kafka, activemq+kafka, sqs+kinesis, nats+nats.
//
// Each cell runs a system of its own (chaos.cell.ts) and must reconcile every ledger
// (chaos.ledgers.ts): 0 lost, 0 double charges, 0 oversold, 0 duplicate mails at the SMTP
// server, 0 orders pending past the settle window, 0 client requests without an answer, ...
//
//   BENCH_CHAOS_PAIRS=rabbitmq+kafka,sqs+kinesis   the columns (default: all)
//   BENCH_CHAOS_FAULTS=kill,proxy                   the rows (default: all)
//   BENCH_CHAOS_SECONDS=30                          how long the flow runs in each cell
//   BENCH_CHAOS_SETTLE_SECONDS=300                  how long a cell may take to settle after it
//
// Prints each cell's ledgers and figures, then the matrix; writes it as markdown to
// tmp/chaos-matrix.md, and ends with one line of JSON. Exits 1 unless every cell that ran is ok.
import { mkdirSync, writeFileSync } from 'node:fs';
import { ensureBenchServers } from './bench.servers.ts';
import { runCell, type CellResult } from './chaos.cell.ts';
import { chaosFaults, transportPairs } from './chaos.faults.ts';
import { markdownMatrix, textMatrix } from './chaos.matrix.ts';

const options = {
  seconds: Number(process.env.BENCH_CHAOS_SECONDS ?? 30),
  settleSeconds: Number(process.env.BENCH_CHAOS_SETTLE_SECONDS ?? 300),
  ordersPerSecond: 40,
  signUpsPerSecond: 5,
  capacity: 1_000,
};

/** The entries of `all` that `setting` names (comma-separated), all of them when it is unset. */
function chosen<T extends { readonly name: string }>(setting: string, all: ReadonlyArray<T>): T[] {
  const names = process.env[setting]?.split(',').map((name) => name.trim());
  if (!names) return [...all];
  const unknown = names.filter((name) => !all.some((entry) => entry.name === name));
  if (unknown.length > 0) {
    console.error(`${setting}: no ${unknown.join(', ')} (known: ${all.map((entry) => entry.name).join(', ')})`);
    process.exit(1);
  }
  return all.filter((entry) => names.includes(entry.name));
}

const pairs = chosen('BENCH_CHAOS_PAIRS', transportPairs);
const faults = chosen('BENCH_CHAOS_FAULTS', chaosFaults);
const t0 = performance.now();
const log = (line: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(7)} s] ${line}`);

await ensureBenchServers(
  'bench:chaos',
  pairs.flatMap((pair) => [pair.command, pair.event]),
);
console.log(
  `bench:chaos - ${faults.length} fault(s) x ${pairs.length} pair(s), ${options.seconds} s of flow per cell ` +
    `(${options.ordersPerSecond} purchases/s, ${options.signUpsPerSecond} sign-ups/s), up to ${options.settleSeconds} s to settle\n`,
);

const cells: CellResult[] = [];
for (const fault of faults) {
  for (const pair of pairs) {
    log(`---- ${fault.name} on ${pair.name}`);
    const cell = await runCell(fault, pair, options, (line) => log(`${fault.name} on ${pair.name}: ${line}`));
    cells.push(cell);
    log(`${fault.name} on ${pair.name}: ${cell.outcome}${cell.detail ? ` (${cell.detail})` : ''}`);
    if (cell.ledgers) {
      console.log(`  ledgers  ${JSON.stringify(cell.ledgers)}`);
      console.log(`  figures  ${JSON.stringify(cell.figures)}`);
      console.log(`  notes    ${JSON.stringify(cell.notes)}; settled: ${cell.settled}; ${cell.seconds} s`);
    }
  }
}

const faultNames = faults.map((fault) => fault.name);
const pairNames = pairs.map((pair) => pair.name);
const ok = cells.every((cell) => cell.outcome === 'ok' || cell.outcome === 'n/a' || cell.outcome === 'skipped');
console.log(`\n${textMatrix(faultNames, pairNames, cells)}\n`);
const how =
  `Measured with \`npm run bench:chaos\` on ${new Date().toISOString().slice(0, 10)}: ` +
  `${options.seconds} s of flow per cell (${options.ordersPerSecond} purchases/s, ${options.signUpsPerSecond} sign-ups/s), ` +
  `the fault held for the middle ${Math.round(options.seconds * 0.6)} s, up to ${options.settleSeconds} s to settle.`;
mkdirSync('tmp', { recursive: true });
writeFileSync('tmp/chaos-matrix.md', `${markdownMatrix(faultNames, pairNames, cells, how)}\n`);
console.log(
  ok
    ? 'every ledger of every cell reconciles (tmp/chaos-matrix.md)'
    : 'A LEDGER DOES NOT RECONCILE: see the matrix above (tmp/chaos-matrix.md)',
);
console.log(JSON.stringify({ ok, ...options, pairs: pairNames, faults: faultNames, cells }));
process.exitCode = ok ? 0 : 1;
