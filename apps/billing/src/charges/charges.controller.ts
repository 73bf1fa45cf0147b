import { ChargeOrder } from '@boxoffice/contracts';
import { ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, HttpCode, Post, Req, ServiceUnavailableException } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { ChargeService, UnknownConcertError, type ChargeJob, type ChargeRequest } from './charge.service.js';
import { SyncChargeAdmission } from './sync-charge.admission.js';
import { SyncChargeBatches } from './sync-charge.batches.js';

/** The synchronous path's door into Billing: the same charge, asked over HTTP, by Checkout only (its service token, main.ts). */
@Controller('charges')
export class ChargesController {
  constructor(
    private readonly charges: ChargeService,
    private readonly batches: SyncChargeBatches,
    private readonly admission: SyncChargeAdmission,
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
    // The payment is authorized here, beside the other callers'; the charge then joins theirs in
    // one transaction (SyncChargeBatches).
    await this.charges.prepareAll([job]);
    try {
      const status = await this.batches.charge(job);
      return { orderId: request.orderId, status };
    } catch (error) {
      if (error instanceof UnknownConcertError) throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }
}
