import type { Envelope, PayloadOf, RefundPayment } from '@boxoffice/contracts';
import { Outcome, type HandlerOutcome, type MessageContext, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { ChargeService } from './charge.service.js';
import { ChargeSweeper } from './charge.sweeper.js';

type Refund = PayloadOf<typeof RefundPayment>;

/**
 * Checkout asks for a captured payment back: its order had timed out when the capture reached
 * it. Rare (Billing captures nothing past a ChargeOrder's chargeBy), so one at a time. Once per
 * charge, whatever is redelivered: see ChargeService.refund.
 */
@Injectable()
export class RefundPaymentHandler implements MessageHandler<Refund, Tx> {
  constructor(
    private readonly charges: ChargeService,
    private readonly sweeper: ChargeSweeper,
  ) {}

  async handle(message: Envelope<Refund>, { tx, send }: MessageContext<Tx>): Promise<HandlerOutcome> {
    await this.charges.refund(tx, message.payload, send);
    return Outcome.done();
  }

  /** The refund is decided: the provider is asked now, not at the next sweep. */
  afterCommit(): void {
    this.sweeper.wake();
  }
}
