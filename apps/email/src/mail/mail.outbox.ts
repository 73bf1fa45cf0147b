import { delayWithJitterMs, describeError, pause, untilStopped, type BackoffSettings } from '@boxoffice/messaging';
import { isDatabaseUnavailable } from '@boxoffice/platform';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Tx } from '../database.js';
import { EMAIL_CONFIG, type EmailConfig } from '../email.config.js';
import type { Mail } from './mail.js';
import { MailSender } from './mail.sender.js';
import { MAILER, PermanentMailError, type Mailer } from './mailer.port.js';
import { SentEmails, type ClaimedMail } from './sent-emails.js';

export type MailOutboxSettings = Pick<
  EmailConfig,
  | 'EMAIL_RESEND_AFTER_MS'
  | 'EMAIL_RESEND_INTERVAL_MS'
  | 'EMAIL_MAX_ATTEMPTS'
  | 'EMAIL_RETRY_INITIAL_DELAY_MS'
  | 'EMAIL_RETRY_MAX_DELAY_MS'
  | 'EMAIL_SEND_CONCURRENCY'
  | 'EMAIL_SEND_QUEUE_LIMIT'
  | 'EMAIL_SHUTDOWN_GRACE_MS'
  | 'EMAIL_SENT_RETENTION_DAYS'
>;

/** An attempt's outcome as it is being recorded, and what to log once it is. */
interface Outcome {
  /** Records it; false if the claim had lapsed and another claimant holds the mail. */
  readonly record: () => Promise<boolean>;
  readonly said: string;
  readonly level: 'warn' | 'error' | null;
}

/** Between tries at recording an outcome while the database is away: a restart takes a few seconds. */
const RECORD_AGAIN_BACKOFF: BackoffSettings = { initialDelayMs: 100, multiplier: 2, maxDelayMs: 2_000, jitter: 0.2 };
/** Mails claimed per round of the resend sweep, at most. */
const SWEEP_BATCH = 100;
/** Sent mails deleted per statement, and statements per sweep: a prune never holds the table for long. */
const PRUNE_BATCH = 1_000;
const PRUNE_BATCHES_PER_SWEEP = 10;

/**
 * One mail per event, however often the event is delivered: record, then send.
 *
 * A mail cannot join a database transaction, so "exactly once" is out of reach; this is the
 * closest a side effect gets, and the window that remains is narrow and named:
 *
 *   1. In the batch's transaction (with the inbox rows), record the mails as SENDING, keyed by
 *      event id. A crash before this commits records nothing and sends nothing; the broker
 *      redelivers the events, and a duplicate delivery later finds the inbox row and records nothing.
 *   2. After the commit, hand the event ids to the background sender and return: the consumer
 *      acknowledges its batch without waiting for the mail server (MailSender). What its queue
 *      has no room for (a backlog) is made due at once, for step 4 to send as slots free up.
 *   3. The sender claims each mail (a fresh claim token on the row, a lease renewed while the
 *      send lasts) and sends it. Each mail's outcome is recorded on its own, under its claim's
 *      token: SENT; FAILED for a permanent refusal (5xx); otherwise due again after a backoff,
 *      and PARKED after EMAIL_MAX_ATTEMPTS attempts, for a person to retry or discard.
 *   4. Every EMAIL_RESEND_INTERVAL_MS, at start, and when mails are spilled to it, the sweep
 *      claims and sends what is due: a backoff that is over, a lease its claimant did not renew (it
 *      died or stalled), a recorded mail the sender never took or had no room for. It also prunes
 *      mails sent EMAIL_SENT_RETENTION_DAYS ago.
 *
 * A database away for a moment when an outcome is recorded is waited out, for up to a lease's
 * length (EMAIL_RESEND_AFTER_MS) from the first failure.
 *
 * The window: a crash after the server accepted the mail and before step 3's SENT commits leaves
 * the row SENDING, and the sweep sends the mail a second time once the lease is over. Both copies
 * carry the same Message-ID (derived from the event id), so a mail client can tell they are one
 * mail. The case for this design against the others: docs/patterns/idempotent-side-effects.md.
 *
 * No log line names a recipient: mails are named by their id and their event's.
 */
@Injectable()
export class MailOutbox implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('mail');
  private readonly stopping = new AbortController();
  private readonly sender: MailSender;
  private readonly backoff: BackoffSettings;
  private sweeping: Promise<void> | null = null;
  /**
   * The last sweep round stopped because every slot was taken, or mails were spilled to the sweep
   * since it began: more may be due than it started.
   */
  private moreDue = false;
  /** Ends the sweep's wait between rounds at once (spilled mails are due). */
  private wakeSweep: () => void = () => {};
  /** Spills being made due: shutdown waits for them, within its grace. */
  private readonly spilling = new Set<Promise<unknown>>();

  constructor(
    private readonly sentEmails: SentEmails,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(EMAIL_CONFIG) private readonly settings: MailOutboxSettings,
  ) {
    this.backoff = {
      initialDelayMs: settings.EMAIL_RETRY_INITIAL_DELAY_MS,
      multiplier: 2,
      maxDelayMs: settings.EMAIL_RETRY_MAX_DELAY_MS,
      jitter: 0.2,
    };
    const leaseMs = settings.EMAIL_RESEND_AFTER_MS;
    this.sender = new MailSender({
      claim: (eventIds) => sentEmails.claim(eventIds, leaseMs),
      attempt: (mail) => this.attempt(mail),
      renew: (claims) => sentEmails.renew(claims, leaseMs),
      // Three renewals per lease: one lost to a slow database still leaves two.
      renewEveryMs: Math.max(1, Math.floor(leaseMs / 3)),
      concurrency: settings.EMAIL_SEND_CONCURRENCY,
      queueLimit: settings.EMAIL_SEND_QUEUE_LIMIT,
      spill: (eventIds) => this.spill(eventIds),
      logger: this.logger,
    });
  }

  /** Step 1, in the batch's transaction. */
  record(tx: Tx, mails: ReadonlyArray<{ readonly eventId: string; readonly mail: Mail }>): Promise<void> {
    return this.sentEmails.record(tx, mails, this.settings.EMAIL_RESEND_AFTER_MS);
  }

  /** Step 2, after the commit: returns at once, whatever the mail server does. */
  sendRecorded(eventIds: ReadonlyArray<string>): void {
    this.sender.offer(eventIds);
  }

  /**
   * Step 4: claims what is due, as many as there are free slots, and starts sending it; resolves
   * with how many, without waiting for the sends (idle() does). What finds no free slot is due
   * again at the next sweep.
   */
  async resendDue(): Promise<number> {
    let started = 0;
    this.moreDue = false;
    while (!this.stopping.signal.aborted) {
      const slots = Math.min(SWEEP_BATCH, this.sender.free);
      if (slots <= 0) {
        // Every slot taken: more may be due than this round could start.
        this.moreDue = true;
        break;
      }
      const claimed = await this.sender.claimAndStart(slots, (limit) =>
        this.sentEmails.claimDue(this.settings.EMAIL_RESEND_AFTER_MS, limit),
      );
      started += claimed;
      if (claimed < slots) break;
    }
    return started;
  }

  /** Deletes mails sent longer ago than the retention, in bounded batches; returns how many. */
  async pruneSent(): Promise<number> {
    let pruned = 0;
    for (let batch = 0; batch < PRUNE_BATCHES_PER_SWEEP && !this.stopping.signal.aborted; batch += 1) {
      const deleted = await this.sentEmails.pruneSent(this.settings.EMAIL_SENT_RETENTION_DAYS, PRUNE_BATCH);
      pruned += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
    return pruned;
  }

  /** A parked mail (or all of them, for `null`) back to SENDING with fresh attempts; one named is sent at once. Returns how many. */
  async retryParked(id: string | null): Promise<number> {
    const eventIds = await this.sentEmails.retryParked(id);
    // All of them can be many: those the sweep sends, as it claims due mails a free slot at a time.
    if (id !== null) this.sender.offer(eventIds);
    this.logger.log(`${eventIds.length} parked mail(s) retried${id === null ? '' : ` (mail ${id})`}`);
    return eventIds.length;
  }

  /** Resolves once the sender has nothing waiting or in flight. */
  idle(): Promise<void> {
    return this.sender.idle();
  }

  onApplicationBootstrap(): void {
    this.sweeping = this.sweepPeriodically();
  }

  /**
   * Beside the consumers' stop, within EMAIL_SHUTDOWN_GRACE_MS: the sweep ends its round, the
   * sends in flight finish or are left. What the consumers still hand over now is left for the
   * sweep of whichever instance runs next (recorded, not claimed: due once its lease has passed).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    const grace = this.settings.EMAIL_SHUTDOWN_GRACE_MS;
    const timeout = new AbortController();
    // A sweep's statement stuck on an unreachable database is abandoned with the rest.
    await Promise.all([
      this.sender.stop(grace),
      Promise.race([Promise.all([this.sweeping, ...this.spilling]), pause(grace, timeout.signal)]),
    ]);
    timeout.abort();
  }

  /**
   * Step 2 when the sender's queue is full (a backlog: the consumer records mails faster than the
   * mail server takes them): rather than wait a lease for the sweep, the mails are due at once, and
   * the sweep sends them as slots free up. Should that fail, they are due once the lease has passed.
   */
  private spill(eventIds: string[]): void {
    const spilling = this.sentEmails.dueNow(eventIds).then(
      (due) => {
        this.logger.warn(`send queue full: ${due} mail(s) handed to the resend sweep`);
        this.moreDue = true;
        this.wakeSweep();
      },
      (error: unknown) =>
        this.logger.warn(
          `send queue full: ${eventIds.length} mail(s) left for the resend sweep once their lease has passed: ${describeError(error)}`,
        ),
    );
    this.spilling.add(spilling);
    void spilling.finally(() => this.spilling.delete(spilling));
  }

  /** Step 3 for one mail: never rejects, and never touches another mail's outcome. */
  private async attempt(mail: ClaimedMail): Promise<void> {
    const name = `mail ${mail.id} (event ${mail.eventId})`;
    let outcome: Outcome;
    try {
      await this.mailer.send({ to: mail.to, subject: mail.subject, body: mail.body, messageId: messageIdOf(mail.eventId) });
      outcome = { record: () => this.sentEmails.markSent(mail), said: 'sent', level: null };
    } catch (error) {
      outcome = this.failed(mail, describeError(error), error instanceof PermanentMailError);
    }
    // A database away for a moment (a restart, a failover) must not send a mail twice: the outcome
    // is recorded again after a backoff, for up to a lease's length from this first failure (the
    // claim's renewals fail too while the database is away, and should the sweep claim the mail
    // meanwhile, the fence refuses this record). Any other error, a longer outage or the service
    // stopping leave it to the sweep, as a crash would: the mail may then go out twice.
    let failure: unknown;
    const recorded = await outcome.record().catch((error: unknown) => {
      failure = error;
      if (!isDatabaseUnavailable(error)) return undefined;
      this.logger.warn(`${name} ${outcome.said}; the database is away, recording it again: ${describeError(error)}`);
      return untilStopped(outcome.record, {
        signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.settings.EMAIL_RESEND_AFTER_MS)]),
        waitFirst: true,
        backoff: RECORD_AGAIN_BACKOFF,
        giveUp: (again) => {
          failure = again;
          return !isDatabaseUnavailable(again);
        },
        onFailure: () => {},
      });
    });
    if (recorded === undefined) {
      this.logger.error(
        `${name} ${outcome.said}, but recording that failed (sent again once its lease is over): ${describeError(failure)}`,
      );
    } else if (!recorded) {
      this.logger.warn(
        `${name}: its claim lapsed and another sender holds it, so this attempt's outcome (${outcome.said}) is not recorded`,
      );
    } else if (outcome.level) {
      this.logger[outcome.level](`${name} ${outcome.said}`);
    }
  }

  /** A failed attempt: for good (5xx), for now (backoff), or for now once too often (parked). */
  private failed(mail: ClaimedMail, reason: string, permanent: boolean): Outcome {
    // The reason is stored whole (GET /emails shows the recipient anyway); logs get it without addresses.
    const logged = withoutAddresses(reason);
    if (permanent) {
      return { record: () => this.sentEmails.markFailed(mail, reason), said: `refused for good, not resending: ${logged}`, level: 'error' };
    }
    if (mail.attempts >= this.settings.EMAIL_MAX_ATTEMPTS) {
      return {
        record: () => this.sentEmails.park(mail, reason),
        said: `not sent after ${mail.attempts} attempts, parked (POST /emails/${mail.id}/retry sends it again): ${logged}`,
        level: 'error',
      };
    }
    const waitMs = delayWithJitterMs(this.backoff, mail.attempts);
    return {
      record: () => this.sentEmails.retryLater(mail, reason, waitMs),
      said: `not sent (attempt ${mail.attempts} of ${this.settings.EMAIL_MAX_ATTEMPTS}), trying again in ${waitMs} ms: ${logged}`,
      level: 'warn',
    };
  }

  private async sweepPeriodically(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const resent = await this.resendDue();
        if (resent > 0) this.logger.log(`resend sweep: sending ${resent} mail(s) that were due`);
        const pruned = await this.pruneSent();
        if (pruned > 0) this.logger.log(`pruned ${pruned} mail(s) sent more than ${this.settings.EMAIL_SENT_RETENTION_DAYS} days ago`);
      } catch (error) {
        this.logger.warn(`resend sweep failed, trying again in ${this.settings.EMAIL_RESEND_INTERVAL_MS} ms: ${describeError(error)}`);
      }
      // The round filled every slot and more may be due (a backlog past the send queue, mails back
      // from an outage): go again once half the slots are free, so it drains at the sending rate.
      // Mails spilled meanwhile end the wait at once.
      const next = new AbortController();
      const until = AbortSignal.any([this.stopping.signal, next.signal]);
      await Promise.race([
        pause(this.settings.EMAIL_RESEND_INTERVAL_MS, until),
        new Promise<void>((resolve) => (this.wakeSweep = resolve)),
        ...(this.moreDue ? [this.sender.whenFree(Math.ceil(this.settings.EMAIL_SEND_CONCURRENCY / 2), until)] : []),
      ]);
      this.wakeSweep = () => {};
      next.abort();
    }
  }
}

/** The same for every copy of one event's mail, so a receiver can recognise a resend as the same mail. */
export function messageIdOf(eventId: string): string {
  return `<${eventId}@boxoffice.mail>`;
}

/** A mail server's reply often quotes the recipient ("<ada@example.com>: mailbox full"); logs must not. */
function withoutAddresses(text: string): string {
  return text.replace(/[^\s<>()[\]"',;:]+@[^\s<>()[\]"',;:]+/g, '(address)');
}
