import { randomUUID } from 'node:crypto';

/** A small client of Checkout's HTTP API for the end-to-end specs. */
export class CheckoutApi {
  constructor(
    readonly url: string,
    private readonly adminKey = 'local-admin-key',
  ) {}

  async scheduleConcert(capacity: number, priceCents = 4_500): Promise<string> {
    const response = await this.post('/concerts', { name: `Concert ${randomUUID().slice(0, 8)}`, startsAt: '2027-06-01T20:00:00Z', capacity, priceCents }, { 'x-admin-key': this.adminKey });
    if (response.status !== 201) throw new Error(`POST /concerts answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  placeOrder(concertId: string, quantity: number, idempotencyKey: string = randomUUID(), path = '/orders') {
    return this.post(path, { concertId, quantity, customerEmail: 'buyer@example.com' }, { 'idempotency-key': idempotencyKey });
  }

  async order(orderId: string): Promise<{ status: string; reason: string | null }> {
    return (await fetch(`${this.url}/orders/${orderId}`)).json() as Promise<{ status: string; reason: string | null }>;
  }

  private post(path: string, body: unknown, headers: Record<string, string>) {
    return fetch(`${this.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  }
}
