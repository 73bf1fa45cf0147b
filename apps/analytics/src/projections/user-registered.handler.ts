import type { Envelope, PayloadOf, UserRegistered } from '@boxoffice/contracts';
import { Inbox, Outcome, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { dayOf, type Tx } from '../database.js';
import { SignupsProjection } from './signups.projection.js';

/** Somebody signed up: one more on the day's count, once per event. */
@Injectable()
export class UserRegisteredHandler implements MessageHandler<PayloadOf<typeof UserRegistered>> {
  constructor(
    private readonly inbox: Inbox<Tx>,
    private readonly signups: SignupsProjection,
  ) {}

  async handle(message: Envelope<PayloadOf<typeof UserRegistered>>): Promise<HandlerOutcome> {
    return this.inbox.handleOnce(message, async (tx) => {
      await this.signups.count(tx, dayOf(message.occurredAt));
      return Outcome.done();
    });
  }
}
