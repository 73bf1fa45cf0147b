// `npm run audit:verify`: walks Audit's log and says whether its hash chain is intact, and if not,
// the first entry where it breaks (apps/audit/src/trail/audit-chain.ts). Exits 0 when intact, 1
// when broken. The database: AUDIT_DATABASE_URL (default: the local boxoffice_audit). Keep the head
// it prints somewhere else now and then: a later run that ends on a different head after the same
// entries means the chain was rewritten.
import { ConfigError, loadConfig } from '@boxoffice/config';
import { createPrismaClient } from '@boxoffice/platform';
import { auditConfigSchema } from '../audit.config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { verifyChain } from '../trail/audit-chain.js';

let databaseUrl: string;
try {
  // Its own name for it: a shell's DATABASE_URL may well be another service's.
  databaseUrl = loadConfig(auditConfigSchema, { ...process.env, DATABASE_URL: process.env.AUDIT_DATABASE_URL }).DATABASE_URL;
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const prisma = createPrismaClient(PrismaClient, databaseUrl, 1);
try {
  const verdict = await verifyChain(prisma);
  if (verdict.intact) {
    console.log(
      `audit chain intact: ${verdict.entries} entries` +
        (verdict.unchained > 0 ? ` (the first ${verdict.unchained} written before the chain began)` : '') +
        `; head ${verdict.head || '(empty)'}`,
    );
  } else {
    const where = verdict.position === null ? 'at its end' : `at position ${verdict.position} (event ${verdict.eventId})`;
    console.log(`AUDIT CHAIN BROKEN ${where}, after ${verdict.entries} intact entries: ${verdict.why}`);
  }
  process.exitCode = verdict.intact ? 0 : 1;
} finally {
  await prisma.$disconnect();
}
