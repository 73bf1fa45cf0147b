import type { SqlExecutor } from '@boxoffice/messaging';
import type { ProjectionFold } from './projection.fold.js';

/** The tables Analytics derives from events (schema.prisma, "Projections"). */
export const projectionTables = ['daily_signups', 'daily_sales', 'concert_sales'] as const;

const ADD_SIGNUPS = `
  INSERT INTO daily_signups (day, signups)
  SELECT day, signups FROM json_to_recordset($1::json) AS r(day date, signups int) ORDER BY day
  ON CONFLICT (day) DO UPDATE SET signups = daily_signups.signups + EXCLUDED.signups`;

const ADD_SALES = `
  INSERT INTO daily_sales (day, tickets, revenue_cents, confirmed, rejected, declined)
  SELECT day, tickets, "revenueCents", confirmed, rejected, declined
    FROM json_to_recordset($1::json) AS r(day date, tickets int, "revenueCents" bigint, confirmed int, rejected int, declined int) ORDER BY day
  ON CONFLICT (day) DO UPDATE SET tickets = daily_sales.tickets + EXCLUDED.tickets,
    revenue_cents = daily_sales.revenue_cents + EXCLUDED.revenue_cents, confirmed = daily_sales.confirmed + EXCLUDED.confirmed,
    rejected = daily_sales.rejected + EXCLUDED.rejected, declined = daily_sales.declined + EXCLUDED.declined`;

const ADD_CONCERTS = `
  INSERT INTO concert_sales (concert_id, concert_name, tickets, revenue_cents, confirmed, rejected)
  SELECT "concertId", "concertName", tickets, "revenueCents", confirmed, rejected
    FROM json_to_recordset($1::json) AS r("concertId" uuid, "concertName" text, tickets int, "revenueCents" bigint, confirmed int, rejected int)
   ORDER BY "concertId"
  ON CONFLICT (concert_id) DO UPDATE SET tickets = concert_sales.tickets + EXCLUDED.tickets,
    revenue_cents = concert_sales.revenue_cents + EXCLUDED.revenue_cents, confirmed = concert_sales.confirmed + EXCLUDED.confirmed,
    rejected = concert_sales.rejected + EXCLUDED.rejected`;

/**
 * Adds a fold to the projections: one upsert per table, however many events it holds. Always
 * days before concerts, and each in key order, so concurrent batches never wait on each other
 * in opposite orders.
 */
export async function addToProjections(tx: SqlExecutor, fold: ProjectionFold): Promise<void> {
  const { signups, sales, concerts } = fold.rows();
  if (signups.length > 0) await tx.$executeRawUnsafe(ADD_SIGNUPS, JSON.stringify(signups));
  if (sales.length > 0) await tx.$executeRawUnsafe(ADD_SALES, JSON.stringify(sales));
  if (concerts.length > 0) await tx.$executeRawUnsafe(ADD_CONCERTS, JSON.stringify(concerts));
}

/**
 * Replaces the projections with a fold (a rebuild): emptied and written in the caller's
 * transaction. DELETE, not TRUNCATE: TRUNCATE takes an ACCESS EXCLUSIVE lock, which would stop
 * the reads that go on serving the old numbers until the commit. The tables are small.
 */
export async function replaceProjections(tx: SqlExecutor, fold: ProjectionFold): Promise<void> {
  for (const table of projectionTables) await tx.$executeRawUnsafe(`DELETE FROM ${table}`);
  await addToProjections(tx, fold);
}
