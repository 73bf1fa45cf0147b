import { SQL, type Sql } from '@boxoffice/platform';
import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Order } from '../generated/prisma/client.js';
import { ORDER_COLUMNS, orderOf, type OrderRow } from './order.rows.js';
import type { PlaceOrder } from './order.schemas.js';

const BY_KEY = `SELECT ${ORDER_COLUMNS} FROM "order" WHERE idempotency_key = $1`;

/**
 * The Idempotency-Key contract of both ways to buy, in one place: the same key with the same
 * body is the same purchase, answered with the order the first request made; the same key with
 * another body is a conflict (409). The key's unique column settles races between retries.
 */
@Injectable()
export class OrderIdempotency {
  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /** What makes two requests with one Idempotency-Key the same request. */
  hashOf(input: PlaceOrder): string {
    return createHash('sha256')
      .update(JSON.stringify([input.concertId, input.quantity, input.customerEmail]))
      .digest('hex');
  }

  /** The order an earlier request with this key made, or null; ConflictException if its body differed. */
  async earlier(idempotencyKey: string, requestHash: string): Promise<Order | null> {
    const order = await this.byKey(idempotencyKey);
    return order ? this.same(order, requestHash) : null;
  }

  /** Like `earlier`, for a key known to be taken (the insert just lost the race to it). */
  async taken(idempotencyKey: string, requestHash: string): Promise<Order> {
    const order = await this.byKey(idempotencyKey);
    if (!order) throw new Error(`no order has the Idempotency-Key ${idempotencyKey}, which was found taken`);
    return this.same(order, requestHash);
  }

  private async byKey(idempotencyKey: string): Promise<Order | null> {
    const [row] = await this.sql.$queryRawUnsafe<OrderRow[]>(BY_KEY, idempotencyKey);
    return row ? orderOf(row) : null;
  }

  private same(order: Order, requestHash: string): Order {
    if (order.requestHash !== requestHash)
      throw new ConflictException('this Idempotency-Key was already used with a different request body');
    return order;
  }
}
