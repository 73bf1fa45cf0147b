// The benches' one way to put a concert on sale, as an organiser does: POST /concerts with the
// admin key, then wait until Billing has heard of it (through the event transport), since a
// charge before that would wait in a retry.
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/** Checkout's default ADMIN_API_KEY, which the benches' services run with. */
export const ADMIN_HEADERS = { 'x-admin-key': 'local-admin-key' };

export async function scheduleConcert(checkoutUrl: string, billingDb: pg.Pool, capacity: number): Promise<string> {
  const response = await fetch(`${checkoutUrl}/concerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...ADMIN_HEADERS },
    body: JSON.stringify({ name: `Bench ${randomUUID().slice(0, 8)}`, startsAt: '2027-06-01T20:00:00Z', capacity, priceCents: 4_500 }),
  });
  if (response.status !== 201) throw new Error(`POST /concerts answered ${response.status}: ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  await waitFor(
    () => billingDb.query('SELECT 1 FROM seat_inventory WHERE concert_id = $1', [id]),
    (r) => r.rowCount === 1,
    { description: 'Billing to know the concert' },
  );
  return id;
}
