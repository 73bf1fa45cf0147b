import type { Envelope, OrderRejected, PayloadOf } from '@boxoffice/contracts';
import type { HandlerOutcome, MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { MailOutbox } from '../mail/mail.outbox.js';
import { apologyMail } from '../mail/mail.templates.js';

/** An order could not be filled: tell the buyer why, once. */
@Injectable()
export class ApologyMailHandler implements MessageHandler<PayloadOf<typeof OrderRejected>> {
  constructor(private readonly mails: MailOutbox) {}

  handle(message: Envelope<PayloadOf<typeof OrderRejected>>): Promise<HandlerOutcome> {
    return this.mails.sendOnce(message, apologyMail(message.payload));
  }
}
