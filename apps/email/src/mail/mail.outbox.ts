import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import type { Tx } from '../database.js';
import { EMAIL_CONFIG, type EmailConfig } from '../email.config.js';
import type { Mail } from './mail.js';
import { MAILER, PermanentMailError, type Mailer } from './mailer.port.js';
import { SentEmails, type ClaimedMail } from './sent-emails.js';

type ResendSettings = Pick<EmailConfig, 'EMAIL_RESEND_AFTER_MS' | 'EMAIL_RESEND_INTERVAL_MS'>;

/** Mails claimed per round of the resend sweep. */
const SWEEP_BATCH = 100;

/**
 * One mail per event, however often the event is delivered: record, then send.
 *
 * A mail cannot join a database transaction, so "exactly once" is out of reach; this is the
 * closest a side effect gets, and the window that remains is narrow and named:
 *
 *   1. In the batch's transaction (with the inbox rows), record the mails as SENDING, keyed by
 *      event id. A crash before this commits records nothing and sends nothing; the broker
 *      redelivers the events, and a duplicate delivery later finds the inbox row and records nothing.
 *   2. After the commit, claim the batch's rows and send them over the SMTP pool at once.
 *   3. Once the SMTP server accepted a mail, mark it SENT (one UPDATE for the batch).
 *   4. Every EMAIL_RESEND_INTERVAL_MS, and at start, send again what is still SENDING
 *      EMAIL_RESEND_AFTER_MS after its last attempt: a failed send, a process that died.
 *
 * The window: a crash after the server accepted the mail and before step 3 commits leaves the
 * row SENDING, and step 4 sends the mail a second time. Both copies carry the same Message-ID
 * (derived from the event id), so a mail client can tell they are one mail. The case for this
 * design against the others: docs/patterns/idempotent-side-effects.md.
 */
@Injectable()
export class MailOutbox implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('mail');
  private readonly stopping = new AbortController();
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly sentEmails: SentEmails,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(EMAIL_CONFIG) private readonly settings: ResendSettings,
  ) {}

  /** Step 1, in the batch's transaction. */
  record(tx: Tx, mails: ReadonlyArray<{ readonly eventId: string; readonly mail: Mail }>): Promise<void> {
    return this.sentEmails.record(tx, mails);
  }

  /** Steps 2 and 3, after the commit. A failed send stays SENDING: the sweep owns it from there. */
  async sendRecorded(eventIds: ReadonlyArray<string>): Promise<void> {
    await this.attempt(await this.sentEmails.claim(eventIds, this.settings.EMAIL_RESEND_AFTER_MS));
  }

  /** Sends again what is still unsent after the lease; returns how many it tried. */
  async resendStale(): Promise<number> {
    let tried = 0;
    for (;;) {
      const due = await this.sentEmails.claimStale(this.settings.EMAIL_RESEND_AFTER_MS, SWEEP_BATCH);
      await this.attempt(due);
      tried += due.length;
      if (due.length < SWEEP_BATCH || this.stopping.signal.aborted) return tried;
    }
  }

  onApplicationBootstrap(): void {
    this.sweeping = this.sweepPeriodically();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    await this.sweeping;
  }

  /** Sends the claimed mails at once (the SMTP pool bounds how many go in parallel), then marks the sent ones together. */
  private async attempt(mails: ReadonlyArray<ClaimedMail>): Promise<void> {
    const sent: string[] = [];
    await Promise.all(
      mails.map(async (mail) => {
        try {
          await this.mailer.send({ ...mail, messageId: messageIdOf(mail.eventId) });
          sent.push(mail.id);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          if (error instanceof PermanentMailError) {
            this.logger.error(`mail ${mail.id} to ${mail.to} refused for good, not resending: ${reason}`);
            await this.sentEmails.markFailed(mail.id, reason);
          } else {
            this.logger.warn(`mail ${mail.id} to ${mail.to} not sent, resending in ${this.settings.EMAIL_RESEND_AFTER_MS} ms: ${reason}`);
            await this.sentEmails.recordError(mail.id, reason);
          }
        }
      }),
    );
    await this.sentEmails.markSent(sent);
  }

  private async sweepPeriodically(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const resent = await this.resendStale();
        if (resent > 0) this.logger.log(`resend sweep: tried ${resent} unsent mail(s) again`);
      } catch (error) {
        this.logger.warn(`resend sweep failed, trying again in ${this.settings.EMAIL_RESEND_INTERVAL_MS} ms: ${String(error)}`);
      }
      await delay(this.settings.EMAIL_RESEND_INTERVAL_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }
}

/** The same for every copy of one event's mail, so a receiver can recognise a resend as the same mail. */
export function messageIdOf(eventId: string): string {
  return `<${eventId}@boxoffice.mail>`;
}
