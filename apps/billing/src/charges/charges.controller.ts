import { ChargeOrder } from '@boxoffice/contracts';
import { MessageSender } from '@boxoffice/messaging';
import { PRISMA, ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, HttpCode, Inject, Post, Req, ServiceUnavailableException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { PrismaClient } from '../database.js';
import { ChargeService, UnknownConcertError, type ChargeJob, type ChargeRequest } from './charge.service.js';
import { ChargeSweeper } from './charge.sweeper.js';
import { SyncChargeAdmission } from './sync-charge.admission.js';

/** The synchronous path's door into Billing: the same charge, asked over HTTP, by Checkout only (its service token, main.ts). */
@Controller('charges')
export class ChargesController {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly charges: ChargeService,
    private readonly admission: SyncChargeAdmission,
    private readonly messages: MessageSender,
    private readonly sweeper: ChargeSweeper,
  ) {}

  @Post()
  @HttpCode(200)
  async charge(@Body(new ZodValidationPipe(ChargeOrder.schema)) request: ChargeRequest, @Req() http: { raw: IncomingMessage }) {
    // Permits of its own (BILLING_SYNC_MAX_RATE), apart from the queue's. Over the rate a
    // synchronous caller waits here, holding its connection, which is exactly the cost the queue
    // spares Checkout's buyers; past BILLING_SYNC_MAX_WAITING it is told 503 at once.
    await this.admission.admit();
    // A caller that timed out meanwhile has told its buyer the purchase failed: charging now
    // would take money for an order it never recorded. (A retry with the same key still works.)
    if (http.raw.socket.destroyed) throw new ServiceUnavailableException('the caller gave up while waiting for capacity');
    // Its chargeBy, when the caller sends one (Checkout does); none: the caller is waiting for this charge now.
    const job: ChargeJob = { request, chargeBy: request.chargeBy ? new Date(request.chargeBy) : null };
    await this.charges.prepareAll([job]);
    try {
      const status = await this.prisma.$transaction(
        (tx) => this.charges.charge(tx, job, (definition, payload, options) => this.messages.send(tx, definition, payload, options)),
        {
          timeout: 30_000,
        },
      );
      this.sweeper.wake();
      return { orderId: request.orderId, status };
    } catch (error) {
      if (error instanceof UnknownConcertError) throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
