import { PrismaPg } from '@prisma/adapter-pg';

/** The constructor every generated Prisma 7 client has, with the pg driver adapter. */
type PrismaClientClass<Client> = new (options: { adapter: PrismaPg }) => Client;

/** A service's Prisma client over node-postgres (Prisma 7's driver adapters: no query engine binary). */
export function createPrismaClient<Client>(PrismaClient: PrismaClientClass<Client>, databaseUrl: string, poolSize = 10): Client {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: poolSize }) });
}
