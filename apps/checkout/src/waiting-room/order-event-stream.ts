import type { ServerResponse } from 'node:http';
import type { Order } from '../generated/prisma/client.js';
import { orderView } from '../orders/order.view.js';
import type { Follower } from './order-updates.js';
import type { PlaceInLine } from './waiting-line.js';

/** How long a browser waits before it reconnects a stream that ended without an outcome. */
const RECONNECT_MS = 2_000;

/**
 * One buyer's Server-Sent Events stream (GET /orders/:id/events):
 *
 *     event: place     data: {"position":1234,"estimatedWaitSeconds":5}     (each time it changes)
 *     event: outcome   data: {"orderId":…,"status":"CONFIRMED",…}           (once, then the stream ends)
 *
 * A browser's EventSource reconnects by itself when a stream breaks; the page closes it on the outcome.
 */
export class OrderEventStream implements Follower {
  private last = '';

  constructor(
    private readonly response: ServerResponse,
    readonly orderId: string,
    readonly lineNumber: number,
  ) {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Tells nginx and its like not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    response.write(`retry: ${RECONNECT_MS}\n\n`);
  }

  place(place: PlaceInLine): void {
    const data = JSON.stringify(place);
    if (data === this.last) return;
    this.last = data;
    this.response.write(`event: place\ndata: ${data}\n\n`);
  }

  outcome(order: Order): void {
    this.response.end(`event: outcome\ndata: ${JSON.stringify(orderView(order))}\n\n`);
  }

  keepAlive(): void {
    this.response.write(': still in line\n\n');
  }

  close(): void {
    this.response.end();
  }
}
