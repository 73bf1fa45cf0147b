import { StatementNames } from '@boxoffice/database';
import { PgTransactionRunner } from '@boxoffice/messaging';
import { Logger } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** The constructor every generated Prisma 7 client has, with the pg driver adapter. */
type PrismaClientClass<Client> = new (options: { adapter: PrismaPg }) => Client;
interface Disconnectable {
  $disconnect(): Promise<void>;
}

/**
 * How long a query waits for a connection to open: node-postgres waits for ever unless told, so a
 * database that does not answer (a failover, a network fault) would hold every request until the
 * client gave up. Past it the query fails, and the request is answered 503 (RetryLaterFilter).
 */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A service's database, two ways onto one pool of connections:
 * - `prisma`, its Prisma client, for the model methods of the paths that are not hot (the
 *   dashboard, the admin reads, the tools);
 * - `sql`, node-postgres itself, for the statements of the hot paths (a purchase, a sign-up, a
 *   poll, a charge's preparation) and their transactions. Prisma's runtime costs about twice
 *   node-postgres' CPU per statement, and a transaction of three statements 0.7–0.9 ms more
 *   (`npm run bench:transactions`, libs/messaging/README.md "Transactions").
 *
 * Both prepare each SQL text once per connection rather than have PostgreSQL parse and plan it at
 * every execution, and share the names (StatementNames): a connection serves both.
 */
export interface ServiceDatabase<Client> {
  readonly prisma: Client;
  readonly sql: PgTransactionRunner;
  /** Disconnects Prisma and ends the pool, for both: Prisma alone ends it only if it ever connected. */
  close(): Promise<void>;
}

export function createServiceDatabase<Client extends Disconnectable>(
  PrismaClient: PrismaClientClass<Client>,
  databaseUrl: string,
  poolSize = 10,
): ServiceDatabase<Client> {
  const statements = new StatementNames();
  const nameOf = (sql: string) => statements.nameOf(sql);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // PostgreSQL may end an idle pooled connection (restart, failover, an admin); the pool drops it
  // and opens a new one on demand. Unheard, the pool's 'error' event would crash the service.
  const logger = new Logger('database');
  pool.on('error', (error) => logger.warn(`an idle connection was lost (${error.message})`));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { statementNameGenerator: (query) => nameOf(query.sql) }) });
  return {
    prisma,
    sql: new PgTransactionRunner(pool, { nameOf }),
    close: async () => {
      await prisma.$disconnect();
      if (!pool.ended) await pool.end();
    },
  };
}

/**
 * A Prisma client alone over node-postgres (Prisma 7's driver adapters: no query engine binary),
 * on a pool of its own that its $disconnect ends, for tools and specs.
 */
export function createPrismaClient<Client extends Disconnectable>(
  PrismaClient: PrismaClientClass<Client>,
  databaseUrl: string,
  poolSize = 10,
): Client {
  const statements = new StatementNames();
  return new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      { statementNameGenerator: (query) => statements.nameOf(query.sql) },
    ),
  });
}
