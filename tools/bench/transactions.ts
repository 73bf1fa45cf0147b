// `npm run bench:transactions`: what a transaction costs the process that runs it, through a
// Prisma 7 interactive transaction (the pg driver adapter) and through node-postgres
// (PgTransactionRunner, which the services' consumers use), on one fresh database and pools of the
// same size, each naming its statements (prepared once per connection) as the services do. Each shape runs BENCH_TRANSACTIONS times (default 3,000) after a warm-up, twice,
// alternating; it prints the wall time and this process's CPU per transaction. Needs the services
// built (`npm run build`): it uses Analytics' generated Prisma client from dist/.
import { PgTransactionRunner, type SqlExecutor, type TransactionRunner } from '@boxoffice/messaging';
import { StatementNames } from '@boxoffice/database';
import { createPrismaClient } from '@boxoffice/platform';
import { createTestDatabase } from '@boxoffice/testing';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { ensureBenchServers } from './bench.servers.ts';

const client = new URL('../../dist/apps/analytics/src/generated/prisma/client.js', import.meta.url);
if (!existsSync(client)) throw new Error('bench:transactions needs the services built: run `npm run build` first');
const count = Number(process.env.BENCH_TRANSACTIONS ?? 3_000);
const poolSize = 4;

await ensureBenchServers('bench:transactions', []);
const db = await createTestDatabase('bench_transactions');
type Database = TransactionRunner<SqlExecutor> & SqlExecutor & { $disconnect?: () => Promise<void> };
const { PrismaClient } = (await import(client.href)) as { PrismaClient: Parameters<typeof createPrismaClient>[0] };
const prisma = createPrismaClient(PrismaClient, db.url, poolSize) as Database;
const pool = new pg.Pool({ connectionString: db.url, max: poolSize });
// As MessagingRuntime builds it for the consumers.
const statementNames = new StatementNames();
const node = new PgTransactionRunner(pool, { nameOf: (sql) => statementNames.nameOf(sql) });

/** Three small statements in one transaction: about what a consumer's batch of one does. */
const threeStatements = (database: Database) =>
  database.$transaction(async (tx) => {
    await tx.$queryRawUnsafe('SELECT $1::int AS a', 1);
    await tx.$queryRawUnsafe('SELECT $1::int AS b', 2);
    await tx.$executeRawUnsafe('SELECT $1::text', 'c');
  });
const oneStatement = (database: Database) => database.$queryRawUnsafe('SELECT $1::int AS a', 1);

async function measure(label: string, work: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count / 10; i++) await work();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) await work();
  const wallUs = ((performance.now() - started) * 1_000) / count;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = (cpu.user + cpu.system) / count;
  console.log(`${label.padEnd(50)} ${wallUs.toFixed(0).padStart(6)} µs wall  ${cpuUs.toFixed(0).padStart(6)} µs CPU`);
}

try {
  console.log(`bench:transactions - ${count} of each, pools of ${poolSize}, twice, alternating\n`);
  for (let round = 0; round < 2; round++) {
    await measure('Prisma: a transaction of three statements', () => threeStatements(prisma));
    await measure('node-postgres: a transaction of three statements', () => threeStatements(node));
    await measure('Prisma: one statement', () => oneStatement(prisma));
    await measure('node-postgres: one statement', () => oneStatement(node));
  }
} finally {
  await prisma.$disconnect?.();
  await pool.end();
  await db.drop();
}
