import { StatementNames } from '@boxoffice/database';
import { PrismaPg } from '@prisma/adapter-pg';

/** The constructor every generated Prisma 7 client has, with the pg driver adapter. */
type PrismaClientClass<Client> = new (options: { adapter: PrismaPg }) => Client;

/**
 * How long a query waits for a connection to open: node-postgres waits for ever unless told, so a
 * database that does not answer (a failover, a network fault) would hold every request until the
 * client gave up. Past it the query fails, and the request is answered 503 (RetryLaterFilter).
 */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A service's Prisma client over node-postgres (Prisma 7's driver adapters: no query engine
 * binary). Its statements are prepared once per connection rather than parsed and planned at every
 * execution (StatementNames).
 */
export function createPrismaClient<Client>(PrismaClient: PrismaClientClass<Client>, databaseUrl: string, poolSize = 10): Client {
  const statements = new StatementNames();
  return new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: databaseUrl, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      { statementNameGenerator: (query) => statements.nameOf(query.sql) },
    ),
  });
}
