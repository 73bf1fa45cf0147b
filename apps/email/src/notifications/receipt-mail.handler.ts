import type { Envelope, OrderConfirmed, PayloadOf } from '@boxoffice/contracts';
import type { HandlerOutcome, MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { MailOutbox } from '../mail/mail.outbox.js';
import { receiptMail } from '../mail/mail.templates.js';

/** An order is paid: send the buyer a receipt (concert, seats, amount), once. */
@Injectable()
export class ReceiptMailHandler implements MessageHandler<PayloadOf<typeof OrderConfirmed>> {
  constructor(private readonly mails: MailOutbox) {}

  handle(message: Envelope<PayloadOf<typeof OrderConfirmed>>): Promise<HandlerOutcome> {
    return this.mails.sendOnce(message, receiptMail(message.payload));
  }
}
