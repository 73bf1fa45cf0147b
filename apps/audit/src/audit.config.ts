import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const auditConfigSchema = z.object({
  ...serviceEnv('audit', 3004),
  /**
   * Kafka partitions this instance handles at once; within a partition, events are handled one
   * after the other, in order. More than the partitions it owns buys nothing.
   */
  KAFKA_CONCURRENCY: env.positiveInt(3),
  /**
   * Events a batch holds at most; a batch closes sooner once 5 ms pass without it filling. Each
   * batch takes the hash chain's head once (audit-chain.ts), so under a backlog the larger the
   * batch, the fewer turns at the one lock every partition waits for: bench:fanout, 50,000
   * events, went from 3,109–3,725 to 7,181–7,237 a second at 1,000 against the runtime's default
   * of 100.
   */
  BATCH_SIZE: env.positiveInt(1_000),
  /**
   * The account Audit reads and writes with. Its tables, and the log's append-only guard, belong
   * to DATABASE_URL's role, which applies the migrations; this one may only read and write rows
   * (libs/database's runtime-role.ts), so neither the service nor whoever holds its password can
   * alter, disable or drop the guard. Unset: DATABASE_URL's server and database as the role
   * `audit_writer`, created without a password if DATABASE_URL's role may create roles (natively,
   * PostgreSQL's superuser).
   */
  DATABASE_WRITER_URL: env.optionalUrl(['postgresql:', 'postgres:']),
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;

/** The role Audit runs as when DATABASE_WRITER_URL does not say. */
export const AUDIT_WRITER_ROLE = 'audit_writer';

/** Where Audit reads and writes: DATABASE_WRITER_URL, else DATABASE_URL's server and database as `audit_writer`. */
export function auditWriterUrl(config: Pick<AuditConfig, 'DATABASE_URL' | 'DATABASE_WRITER_URL'>): string {
  if (config.DATABASE_WRITER_URL) return config.DATABASE_WRITER_URL;
  const url = new URL(config.DATABASE_URL);
  url.username = AUDIT_WRITER_ROLE;
  url.password = '';
  return url.toString();
}
