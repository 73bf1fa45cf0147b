import { pageSecurityPolicy, ZodValidationPipe } from '@boxoffice/platform';
import { Controller, Get, Header, NotFoundException, Param, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { orderIdSchema } from '../orders/order.schemas.js';
import { OrdersService } from '../orders/orders.service.js';
import { OrderEventStream } from './order-event-stream.js';
import { OrderUpdates } from './order-updates.js';
import { waitingRoomPage } from './waiting-room.page.js';

const orderId = new ZodValidationPipe(orderIdSchema, 'id');

/**
 * Streams open at once, at most: each is a socket and a few hundred bytes here. Beyond, a buyer
 * gets 503 and their page polls GET /orders/:id instead.
 */
const MAX_STREAMS = 12_000;

/** The waiting room: a buyer's place in line and the outcome, pushed as they change. */
@ApiTags('orders')
@Controller('orders')
export class WaitingRoomController {
  constructor(
    private readonly orders: OrdersService,
    private readonly updates: OrderUpdates,
  ) {}

  @Get(':id/events')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Server-Sent Events: `place` ({position, estimatedWaitSeconds}) each time it changes, then `outcome` (the order, as GET /orders/:id shows it), and the stream ends',
  })
  async events(@Param('id', orderId) id: string, @Res() reply: FastifyReply): Promise<void> {
    if (this.updates.following >= MAX_STREAMS)
      throw new ServiceUnavailableException(`${MAX_STREAMS} buyers follow their orders already: poll GET /orders/${id}`);
    const order = await this.orders.find(id);
    if (!order) throw new NotFoundException(`order ${id} does not exist`);
    // From here the answer is ours to write, for as long as the order waits.
    reply.hijack();
    const stream = new OrderEventStream(reply.raw, order.id, Number(order.lineNumber ?? 0));
    if (order.status !== 'PENDING') return stream.outcome(order);
    const unfollow = this.updates.follow(stream);
    reply.raw.once('close', unfollow);
  }

  @Get(':id/page')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  @Header('content-security-policy', pageSecurityPolicy(waitingRoomPage))
  @ApiOperation({ summary: "A buyer's page: their place in line, the estimated wait and a progress bar, live, then the outcome" })
  page(@Param('id', orderId) _id: string) {
    return waitingRoomPage;
  }
}
