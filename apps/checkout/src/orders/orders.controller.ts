import { ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, Get, Headers, HttpCode, NotFoundException, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { WaitingLine } from '../waiting-room/waiting-line.js';
import { BillingClient } from './billing.client.js';
import { idempotencyKeySchema, orderIdSchema, placeOrderSchema } from './order.schemas.js';
import { orderView } from './order.view.js';
import { OrdersService } from './orders.service.js';
import { SyncOrderPolicies } from './sync-order.policies.js';

const idempotencyKey = new ZodValidationPipe(idempotencyKeySchema, 'Idempotency-Key');
const body = new ZodValidationPipe(placeOrderSchema);

/** The part of Fastify's reply the synchronous path uses: the time since the request arrived. */
interface SyncReply {
  readonly elapsedTime: number;
}

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly billing: BillingClient,
    private readonly policies: SyncOrderPolicies,
    private readonly line: WaitingLine,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Buy tickets: 202 at once with the place in line, then follow eventsUrl (Server-Sent Events) or poll statusUrl (eventual consistency). 409 SOLD_OUT when the seats are gone; 503 with Retry-After when the line is too long (MAX_WAIT_SECONDS)',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: true })
  @ApiBody({ schema: z.toJSONSchema(placeOrderSchema) as object })
  async place(@Headers('idempotency-key') key: string | undefined, @Body() raw: unknown) {
    const order = await this.orders.place(body.transform(raw), idempotencyKey.transform(key));
    const place = order.status === 'PENDING' && order.lineNumber !== null ? this.line.join(Number(order.lineNumber)) : {};
    return {
      orderId: order.id,
      status: order.status,
      ...place,
      statusUrl: `/orders/${order.id}`,
      eventsUrl: `/orders/${order.id}/events`,
      pageUrl: `/orders/${order.id}/page`,
    };
  }

  @Post('sync')
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Buy tickets synchronously: Checkout calls Billing over HTTP and waits. Fails fast: 503 with Retry-After when too many are in flight or Billing is failing, 504 at SYNC_TIMEOUT_MS',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: true })
  @ApiBody({ schema: z.toJSONSchema(placeOrderSchema) as object })
  async placeSync(@Headers('idempotency-key') key: string | undefined, @Body() raw: unknown, @Res({ passthrough: true }) reply: SyncReply) {
    // Validated before the policies: a malformed request takes no slot and counts for nothing.
    const input = body.transform(raw);
    const validKey = idempotencyKey.transform(key);
    const order = await this.policies.run(
      (deadline) => this.orders.placeAndCharge(input, validKey, (request) => this.billing.charge(request, deadline)),
      reply.elapsedTime,
    );
    return orderView(order);
  }

  @Get(':id')
  @ApiOperation({
    summary:
      'An order and its status: PENDING (until pendingUntil at most) with its place in line, CONFIRMED or REJECTED (SOLD_OUT, PAYMENT_DECLINED or TIMED_OUT)',
  })
  async find(@Param('id', new ZodValidationPipe(orderIdSchema, 'id')) id: string) {
    const order = await this.orders.find(id);
    if (!order) throw new NotFoundException(`order ${id} does not exist`);
    return orderView(order, order.lineNumber === null ? undefined : this.line.placeOf(Number(order.lineNumber)));
  }
}
