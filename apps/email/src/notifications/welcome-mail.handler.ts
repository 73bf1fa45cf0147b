import type { Envelope, PayloadOf, UserRegistered } from '@boxoffice/contracts';
import type { HandlerOutcome, MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { MailOutbox } from '../mail/mail.outbox.js';
import { welcomeMail } from '../mail/mail.templates.js';

/** Somebody signed up: welcome them, once. */
@Injectable()
export class WelcomeMailHandler implements MessageHandler<PayloadOf<typeof UserRegistered>> {
  constructor(private readonly mails: MailOutbox) {}

  handle(message: Envelope<PayloadOf<typeof UserRegistered>>): Promise<HandlerOutcome> {
    return this.mails.sendOnce(message, welcomeMail(message.payload));
  }
}
