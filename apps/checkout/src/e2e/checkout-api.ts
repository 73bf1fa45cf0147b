import { developmentSecrets } from '@boxoffice/config';
import { randomUUID } from 'node:crypto';

/** What GET /dashboard/stats answers (the part the specs read). */
export interface DashboardStats {
  acceptedPerSecond: number;
  processedPerSecond: number;
  queueDepth: number | null;
  queueConsumers: number | null;
  outboxPending: number;
  orders: { PENDING: number; CONFIRMED: number; REJECTED: number; total: number };
}

/** A small client of Checkout's HTTP API for the end-to-end specs. */
export class CheckoutApi {
  constructor(
    readonly url: string,
    private readonly adminKey: string = developmentSecrets.ADMIN_API_KEY,
  ) {}

  async scheduleConcert(capacity: number, priceCents = 4_500): Promise<string> {
    const response = await this.post(
      '/concerts',
      { name: `Concert ${randomUUID().slice(0, 8)}`, startsAt: '2027-06-01T20:00:00Z', capacity, priceCents },
      { 'x-admin-key': this.adminKey },
    );
    if (response.status !== 201) throw new Error(`POST /concerts answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  placeOrder(concertId: string, quantity: number, idempotencyKey: string = randomUUID(), path = '/orders') {
    return this.post(path, { concertId, quantity, customerEmail: 'buyer@example.com' }, { 'idempotency-key': idempotencyKey });
  }

  /** Places `count` orders of one seat, `concurrency` at a time, and returns the ids of the accepted ones (202). */
  async placeOrders(concertId: string, count: number, concurrency = 10): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < count; start += concurrency) {
      const batch = Array.from({ length: Math.min(concurrency, count - start) }, () => this.placeOrder(concertId, 1));
      for (const response of await Promise.all(batch)) {
        if (response.status !== 202) throw new Error(`POST /orders answered ${response.status}: ${await response.text()}`);
        ids.push(((await response.json()) as { orderId: string }).orderId);
      }
    }
    return ids;
  }

  async order(orderId: string): Promise<{ status: string; reason: string | null }> {
    return (await fetch(`${this.url}/orders/${orderId}`)).json() as Promise<{ status: string; reason: string | null }>;
  }

  async stats(): Promise<DashboardStats> {
    const response = await fetch(`${this.url}/dashboard/stats`);
    if (!response.ok) throw new Error(`GET /dashboard/stats answered ${response.status}`);
    return response.json() as Promise<DashboardStats>;
  }

  private post(path: string, body: unknown, headers: Record<string, string>) {
    return fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }
}
