import type { PrismaClient, Prisma } from './generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;
