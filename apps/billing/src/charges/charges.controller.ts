import { ChargeOrder } from '@boxoffice/contracts';
import { MessageSender, RateLimiter } from '@boxoffice/messaging';
import { PRISMA, ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, HttpCode, Inject, Post, Req, ServiceUnavailableException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { PrismaClient } from '../database.js';
import { ChargeService, UnknownConcertError, type ChargeRequest } from './charge.service.js';

/** The synchronous path's door into Billing: the same charge, asked over HTTP. */
@Controller('charges')
export class ChargesController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly charges: ChargeService,
    private readonly rate: RateLimiter,
    private readonly messages: MessageSender,
  ) {}

  @Post()
  @HttpCode(200)
  async charge(@Body(new ZodValidationPipe(ChargeOrder.schema)) request: ChargeRequest, @Req() http: { raw: IncomingMessage }) {
    // The same permits as the queue's jobs: BILLING_MAX_RATE is what the payment provider takes,
    // whichever door a charge comes in by. Over it, a synchronous caller waits here, holding its
    // connection, which is exactly the cost the queue spares Checkout's buyers.
    await this.rate.acquire();
    // A caller that timed out meanwhile has told its buyer the purchase failed: charging now
    // would take money for an order it never recorded. (A retry with the same key still works.)
    if (http.raw.socket.destroyed) throw new ServiceUnavailableException('the caller gave up while waiting for capacity');
    try {
      const status = await this.prisma.$transaction(
        (tx) => this.charges.charge(tx, request, (definition, payload) => this.messages.send(tx, definition, payload)),
        {
          timeout: 30_000,
        },
      );
      return { orderId: request.orderId, status };
    } catch (error) {
      if (error instanceof UnknownConcertError) throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
