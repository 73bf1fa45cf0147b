import { ChargeOrder, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { Inbox, Outcome, RateLimiter, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { ChargeJobsCounter } from './charge-jobs.counter.js';
import { ChargeService, UnknownConcertError } from './charge.service.js';

/** A job from Billing's work queue: charge one order, at the configured safe rate. */
@Injectable()
export class ChargeOrderHandler implements MessageHandler<PayloadOf<typeof ChargeOrder>> {
  constructor(
    private readonly inbox: Inbox<Tx>,
    private readonly charges: ChargeService,
    private readonly rate: RateLimiter,
    private readonly jobs: ChargeJobsCounter,
  ) {}

  async handle(message: Envelope<PayloadOf<typeof ChargeOrder>>): Promise<HandlerOutcome> {
    await this.rate.acquire();
    let worked = false;
    try {
      const outcome = await this.inbox.handleOnce(message, async (tx) => {
        await this.charges.charge(tx, message.payload, message);
        worked = true;
        return Outcome.done();
      });
      // handleOnce resolves only after the commit; a duplicate the inbox dropped never set `worked`.
      if (worked && outcome.kind === 'done') this.jobs.recordDone();
      return outcome;
    } catch (error) {
      // Events and commands travel separately, so the order can arrive before its concert does.
      if (error instanceof UnknownConcertError) return Outcome.retry(error.message);
      throw error;
    }
  }
}
