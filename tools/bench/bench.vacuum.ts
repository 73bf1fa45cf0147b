import pg from 'pg';

/**
 * Each phase of a bench starts from vacuumed tables: what the phase before it left behind costs it
 * nothing.
 *
 * An outbox, a payment hold, a mail's claim: each is a row written, updated and deleted within
 * seconds, and every version it leaves behind stays in the table and its indexes until a VACUUM.
 * After the sale's 30,000 purchases, Billing's payment_hold had 70 live rows and 54,806 dead
 * ones, and every statement on it walked them: PostgreSQL took 0.82 of a core in the 200/s phase
 * that followed, and 0.65 in a run that vacuumed first. A deployment's autovacuum does this on its
 * own (docker-compose.yml has it look every 10 s); this machine's PostgreSQL runs without it
 * (`SHOW autovacuum`). So a figure no longer depends on the phases that ran before it.
 *
 * The ANALYZE is deliberate: it gives the services the statistics a deployment's autovacuum would,
 * taken while the queues are drained, and those are the statistics their statements must be
 * planned well with (outboxStore.claim says what they once cost).
 */
export async function vacuumServices(urls: ReadonlyArray<string>): Promise<{ seconds: number; autovacuum: string }> {
  const startedAt = performance.now();
  let autovacuum = 'unknown';
  for (const url of urls) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      autovacuum = (await client.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0].autovacuum;
      // Not VACUUM FULL: the services keep running; a plain VACUUM blocks them for a moment at most,
      // when it truncates a table's empty end.
      await client.query('VACUUM (ANALYZE)');
    } finally {
      await client.end();
    }
  }
  return { seconds: (performance.now() - startedAt) / 1_000, autovacuum };
}
