import { OrderConfirmed, OrderRejected, UserRegistered, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import type { BatchHandler, HandlerContext } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import type { Mail } from '../mail/mail.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { apologyMail, receiptMail, welcomeMail } from '../mail/mail.templates.js';

type Notified = PayloadOf<typeof UserRegistered> | PayloadOf<typeof OrderConfirmed> | PayloadOf<typeof OrderRejected>;

/** Which mail each event asks for. */
const templates: Record<string, (payload: never) => Mail> = {
  [UserRegistered.type]: welcomeMail,
  [OrderConfirmed.type]: receiptMail,
  [OrderRejected.type]: apologyMail,
};

/**
 * Somebody signed up, an order was paid or could not be: one mail per event (welcome, receipt,
 * apology). A batch of events is recorded with one INSERT in the batch's transaction, and sent
 * in the background after its commit (record-then-send, mail.outbox.ts).
 */
@Injectable()
export class NotificationMailHandler implements BatchHandler<Notified, Tx> {
  constructor(private readonly mails: MailOutbox) {}

  handleBatch(events: ReadonlyArray<Envelope<Notified>>, { tx }: HandlerContext<Tx>): Promise<void> {
    return this.mails.record(
      tx,
      events.map((event) => ({ eventId: event.id, mail: templates[event.type](event.payload as never) })),
    );
  }

  /** Hands the mails to the background sender and returns: the batch is acknowledged without waiting for the mail server. */
  afterCommit(events: ReadonlyArray<Envelope<Notified>>): void {
    this.mails.sendRecorded(events.map((event) => event.id));
  }
}
