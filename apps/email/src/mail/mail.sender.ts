import { describeError, renewEvery } from '@boxoffice/messaging';
import type { LoggerService } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import type { Claim, ClaimedMail } from './sent-emails.js';

export interface MailSenderOptions {
  /** Claims the events' mails for one attempt each; resolves with those it won. */
  readonly claim: (eventIds: string[]) => Promise<ClaimedMail[]>;
  /** One attempt at a claimed mail: sends it and records its outcome. Never rejects. */
  readonly attempt: (mail: ClaimedMail) => Promise<void>;
  /** Extends the leases of the claims in flight. */
  readonly renew: (claims: Claim[]) => Promise<unknown>;
  /** How often the claims in flight are renewed: well inside their lease. */
  readonly renewEveryMs: number;
  /** Mails claimed and in flight at once. */
  readonly concurrency: number;
  /** Event ids waiting for a slot; beyond it, an offer is spilled. */
  readonly queueLimit: number;
  /** Takes the event ids the queue has no room for, and hands their mails to the resend sweep. */
  readonly spill: (eventIds: string[]) => void;
  readonly logger: LoggerService;
}

/**
 * Sends recorded mails in the background, so that the consumer that recorded them never waits
 * for the mail server: `offer` takes the event ids and returns at once. The ids wait in a bounded
 * queue for one of a bounded number of slots; they are claimed only when a slot is free, so a
 * claim's lease starts when its send does. While a send lasts, its claim is renewed: however slow
 * the mail server, no other sender takes the mail over and sends it a second time.
 *
 * Nothing here has to be kept: a claim that fails and a queue dropped at shutdown leave the mail
 * SENDING in the database, where the resend sweep finds it once its lease has passed. An offer
 * the queue has no room for (a backlog: the consumer records mails faster than they can be sent)
 * is spilled: the mails are made due at once, and the sweep sends them as slots free up.
 */
export class MailSender {
  private readonly waiting: string[] = [];
  private readonly inFlight = new Map<string, { readonly mail: ClaimedMail; readonly done: Promise<void> }>();
  /** Slots held by claims in progress, so two claims never fill the same slots. */
  private reserved = 0;
  /** Claims in progress (the queue's and the sweep's): idle() waits for them and what they start. */
  private readonly claiming = new Set<Promise<unknown>>();
  /** Waiting in whenFree(): each with the free slots it waits for. */
  private readonly freeWaiters = new Set<{ readonly slots: number; readonly resolve: () => void }>();
  private pumping: Promise<void> | null = null;
  private stopped = false;
  private readonly stopRenewing: () => void;

  constructor(private readonly options: MailSenderOptions) {
    this.stopRenewing = renewEvery(
      options.renewEveryMs,
      () => (this.inFlight.size > 0 ? options.renew([...this.inFlight.values()].map(({ mail }) => mail)) : undefined),
      (error) => options.logger.warn(`renewing the claims of ${this.inFlight.size} mail(s) in flight failed: ${describeError(error)}`),
    );
  }

  /** Hands over the events whose mails were just recorded; returns at once. */
  offer(eventIds: ReadonlyArray<string>): void {
    if (this.stopped) return;
    const room = Math.max(0, this.options.queueLimit - this.waiting.length);
    this.waiting.push(...eventIds.slice(0, room));
    if (eventIds.length > room) this.options.spill(eventIds.slice(room));
    this.pump();
  }

  /** Free slots now. */
  get free(): number {
    return this.options.concurrency - this.inFlight.size - this.reserved;
  }

  /**
   * Claims with `claim` at most `limit` mails, and no more than there are free slots, and starts
   * sending them; resolves with how many. For the resend sweep, which never waits for a send.
   */
  async claimAndStart(limit: number, claim: (limit: number) => Promise<ClaimedMail[]>): Promise<number> {
    const slots = Math.min(limit, this.free);
    if (this.stopped || slots <= 0) return 0;
    return this.claimAndStartEach(slots, () => claim(slots));
  }

  /**
   * Resolves once `slots` slots are free (or fewer are taken at all), the sender stops, or
   * `signal` aborts: the sweep waits on it while a backlog fills every slot, so the backlog drains
   * at the sending rate instead of a slotful per sweep interval.
   */
  whenFree(slots: number, signal: AbortSignal): Promise<void> {
    if (this.stopped || signal.aborted || this.free >= slots) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        slots,
        resolve: () => {
          this.freeWaiters.delete(waiter);
          signal.removeEventListener('abort', waiter.resolve);
          resolve();
        },
      };
      this.freeWaiters.add(waiter);
      signal.addEventListener('abort', waiter.resolve, { once: true });
    });
  }

  /** Resolves once nothing is waiting, being claimed or in flight. */
  async idle(): Promise<void> {
    while (this.pumping || this.claiming.size > 0 || this.inFlight.size > 0) {
      await Promise.all([this.pumping, ...this.claiming, ...[...this.inFlight.values()].map(({ done }) => done)]);
    }
  }

  /**
   * Stops claiming and drops the queue (the sweep sends it later), then gives the sends in flight
   * up to `graceMs` to finish. What is still in flight after that keeps its claim until the lease
   * runs out, and is sent again by whichever instance sweeps first.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.waiting.length = 0;
    for (const waiter of [...this.freeWaiters]) waiter.resolve();
    this.stopRenewing();
    const timeout = new AbortController();
    const finished = await Promise.race([
      this.idle().then(() => true),
      delay(graceMs, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    if (!finished) {
      this.options.logger.warn(
        `${this.inFlight.size} mail(s) still in flight after ${graceMs} ms: left for the resend sweep once their leases run out`,
      );
    }
  }

  /** Claims queued ids while there are free slots; one run at a time. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = (async () => {
      while (!this.stopped && this.waiting.length > 0 && this.free > 0) {
        const eventIds = this.waiting.splice(0, this.free);
        await this.claimAndStartEach(eventIds.length, () => this.options.claim(eventIds));
      }
    })().finally(() => {
      this.pumping = null;
      // A slot freed while the run was ending found it still running: look again.
      if (!this.stopped && this.waiting.length > 0 && this.free > 0) this.pump();
    });
  }

  /** Claims into `slots` reserved slots and starts sending what it won, before idle() can see the claim as over; resolves with how many. */
  private async claimAndStartEach(slots: number, claim: () => Promise<ClaimedMail[]>): Promise<number> {
    this.reserved += slots;
    const claiming = claim()
      .catch((error: unknown) => {
        this.options.logger.warn(`claiming mails to send failed, left for the resend sweep: ${describeError(error)}`);
        return [];
      })
      .then((mails) => {
        this.reserved -= slots;
        for (const mail of mails) void this.start(mail);
        return mails;
      });
    this.claiming.add(claiming);
    try {
      return (await claiming).length;
    } finally {
      this.claiming.delete(claiming);
    }
  }

  private start(mail: ClaimedMail): Promise<void> {
    const done = this.options
      .attempt(mail)
      .catch((error: unknown) => this.options.logger.error(`mail ${mail.id}: the attempt failed unrecorded: ${describeError(error)}`))
      .finally(() => {
        this.inFlight.delete(mail.claimToken);
        this.pump();
        for (const waiter of [...this.freeWaiters]) if (this.free >= waiter.slots) waiter.resolve();
      });
    // By claim, not by mail: a claim that lapsed and was taken again here is a second attempt in flight.
    this.inFlight.set(mail.claimToken, { mail, done });
    return done;
  }
}
