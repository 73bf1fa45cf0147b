import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { UserRegistered, type Envelope } from '@boxoffice/contracts';
import { ConsumerPipeline, EnvelopeFactory, type SqlExecutor } from '@boxoffice/messaging';
import { createServiceDatabase, type ServiceDatabase, type Sql } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { Logger, type LoggerService } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { emailHandlers } from '../email.handlers.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { NotificationMailHandler } from '../notifications/notification-mail.handler.js';
import { MailOutbox, type MailOutboxSettings } from './mail.outbox.js';
import { PermanentMailError, type Mailer, type OutgoingMail } from './mailer.port.js';
import { SentEmails } from './sent-emails.js';

/** The lease of a claim: short, so that "longer than the lease" comes quickly. */
const LEASE_MS = 300;

const defaults: MailOutboxSettings = {
  EMAIL_RESEND_AFTER_MS: LEASE_MS,
  EMAIL_RESEND_INTERVAL_MS: 60_000, // the sweep is driven by hand here, with resendDue()
  EMAIL_MAX_ATTEMPTS: 3,
  EMAIL_RETRY_INITIAL_DELAY_MS: 1,
  EMAIL_RETRY_MAX_DELAY_MS: 5,
  EMAIL_SEND_CONCURRENCY: 10,
  EMAIL_SEND_QUEUE_LIMIT: 1_000,
  EMAIL_SHUTDOWN_GRACE_MS: 200,
  EMAIL_SENT_RETENTION_DAYS: 30,
};

/**
 * A mail server that does what the test says, per mail: what is claimed here is the bookkeeping
 * around the send (fence, outcomes, parking, the consumer not waiting), not SMTP.
 */
class FakeMailer implements Mailer {
  /** Every send begun, in order. */
  readonly begun: OutgoingMail[] = [];
  readonly accepted: OutgoingMail[] = [];
  /** The most sends in progress at once so far. */
  mostInFlight = 0;
  private inFlight = 0;
  /** Resolves to accept the mail, rejects to refuse it, or never settles until the test says. */
  decide: (mail: OutgoingMail) => Promise<void> = async () => {};

  async send(mail: OutgoingMail): Promise<void> {
    this.begun.push(mail);
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await this.decide(mail);
    } finally {
      this.inFlight -= 1;
    }
    this.accepted.push(mail);
  }

  begunTo(address: string): OutgoingMail[] {
    return this.begun.filter((mail) => mail.to === address);
  }

  acceptedTo(address: string): OutgoingMail[] {
    return this.accepted.filter((mail) => mail.to === address);
  }
}

/** A send the test holds until it opens the gate. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** What a mail server's transient refusal looks like: it quotes the recipient, as real ones do. */
const busy = (address: string) => new Error(`451 4.2.1 <${address}>: mailbox busy, try again later`);

describe('the mail outbox under faults', () => {
  const envelopes = new EnvelopeFactory('checkout');
  const logLines: string[] = [];
  const started: MailOutbox[] = [];
  let db: TestDatabase;
  let prisma: PrismaClient;
  let sql: Sql;
  let database: ServiceDatabase<PrismaClient>;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('email_faults', 'apps/email/prisma/migrations');
    database = createServiceDatabase(PrismaClient, db.url);
    ({ prisma, sql } = database);
    const capture = (...parts: unknown[]) => void logLines.push(parts.map(String).join(' '));
    Logger.overrideLogger({
      log: capture,
      warn: capture,
      error: capture,
      debug: capture,
      verbose: capture,
      fatal: capture,
    } satisfies LoggerService);
  });
  afterAll(async () => {
    for (const outbox of started) await outbox.beforeApplicationShutdown();
    await database.close();
    await db.drop();
  });

  /** One instance of Email's mail outbox and its consumer pipeline, with this mailer and settings. */
  function instance(mailer: Mailer, settings: Partial<MailOutboxSettings> = {}) {
    const sentEmails = new SentEmails(sql, prisma);
    const outbox = new MailOutbox(sentEmails, mailer, { ...defaults, ...settings });
    started.push(outbox);
    const handler = new NotificationMailHandler(outbox);
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'email',
      handlers: emailHandlers.map(({ message }) => ({ message, handler })),
      database: sql,
    });
    /** One delivery of a batch of events, as from the users topic; their settlements. */
    const deliver = (...events: Envelope[]) =>
      pipeline.process(
        'boxoffice.users',
        events.map((event) => ({ body: JSON.stringify(event), headers: {} })),
        { ordered: true, exclusive: false },
      );
    return { sentEmails, outbox, deliver };
  }

  const registered = () => {
    const email = `${randomUUID()}@example.com`;
    return envelopes.create(UserRegistered, { userId: randomUUID(), email, name: 'Ada', ip: '127.0.0.1', userAgent: 'jest' });
  };
  const rowOf = (eventId: string) => prisma.sentEmail.findUniqueOrThrow({ where: { eventId } });
  const addressOf = (event: ReturnType<typeof registered>) => event.payload.email;
  /** Fails if `work` has not settled within `ms`: for what must not wait on the mail server. */
  const within = async <T>(ms: number, work: Promise<T>): Promise<T> => {
    const timeout = new AbortController();
    try {
      return await Promise.race([
        work,
        delay(ms, undefined, { signal: timeout.signal }).then(() => {
          throw new Error(`still waiting after ${ms} ms`);
        }),
      ]);
    } finally {
      timeout.abort();
    }
  };

  beforeEach(() => {
    logLines.length = 0;
  });
  // What a test leaves unsent (a claim it kept on purpose, a hung send) must not be due in the next.
  afterEach(async () => {
    await prisma.$executeRaw`UPDATE sent_email SET status = 'FAILED', last_error = 'left by an earlier test' WHERE status = 'SENDING'`;
  });

  describe('when a send takes longer than the lease', () => {
    it('keeps its claim while it lasts: the sweep does not send the mail a second time', async () => {
      const mailer = new FakeMailer();
      const slow = gate();
      mailer.decide = () => slow.opened;
      const { outbox, deliver } = instance(mailer);
      const event = registered();
      await deliver(event);
      await waitFor(
        () => mailer.begunTo(addressOf(event)).length,
        (n) => n === 1,
        { description: 'the send to begin' },
      );
      const claimedAt = Date.now();

      // Three leases go by while the send hangs; the sweep keeps looking all the while.
      let resent = 0;
      await waitFor(
        async () => (resent += await outbox.resendDue()),
        () => Date.now() > claimedAt + 3 * LEASE_MS,
        { description: 'three leases to pass' },
      );
      expect(resent).toBe(0);

      slow.open();
      await outbox.idle();
      expect(mailer.begunTo(addressOf(event))).toHaveLength(1);
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT', attempts: 1 });
    });

    it('ignores what a stalled sender reports once another has claimed the mail again (the fence)', async () => {
      const stalledMailer = new FakeMailer();
      const stalledSend = gate();
      stalledMailer.decide = () => stalledSend.opened;
      const stalled = instance(stalledMailer);
      // A process that stalls (a long GC pause, a frozen container) renews nothing.
      jest.spyOn(stalled.sentEmails, 'renew').mockResolvedValue(0);
      const event = registered();
      await stalled.deliver(event);
      await waitFor(
        () => stalledMailer.begunTo(addressOf(event)).length,
        (n) => n === 1,
        { description: 'the first send to begin' },
      );

      const otherMailer = new FakeMailer();
      const otherSend = gate();
      otherMailer.decide = () => otherSend.opened;
      const other = instance(otherMailer);
      await waitFor(
        () => other.outbox.resendDue(),
        (tried) => tried === 1,
        { description: 'the lapsed claim to be taken over' },
      );
      const { id, claimToken: current } = await rowOf(event.id);

      stalledSend.open();
      await stalled.outbox.idle();
      // The stalled sender's SENT changed nothing: the row is the other sender's.
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENDING', claimToken: current, sentAt: null });
      expect(logLines.some((line) => line.includes(`mail ${id}`) && line.includes('claim lapsed'))).toBe(true);

      otherSend.open();
      await other.outbox.idle();
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT', claimToken: null, attempts: 2 });
    });
  });

  describe('when the database is away a moment as a sent mail is recorded', () => {
    it('records it SENT once the database is back, and never sends it a second time', async () => {
      const mailer = new FakeMailer();
      const event = registered();
      const { sentEmails, deliver } = instance(mailer, { EMAIL_RESEND_AFTER_MS: 10_000 });
      // As node-postgres says it when PostgreSQL restarts under the statement.
      jest.spyOn(sentEmails, 'markSent').mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));

      await deliver(event);

      await waitFor(
        () => rowOf(event.id),
        (row) => row.status === 'SENT',
        { timeoutMs: 5_000, description: 'the mail to be recorded SENT once the database answers again' },
      );
      expect(mailer.begunTo(addressOf(event))).toHaveLength(1);
    });
  });

  describe("when recording one mail's failure fails", () => {
    it('still marks the other mails of its batch SENT', async () => {
      const mailer = new FakeMailer();
      const [failing, ...others] = [registered(), registered(), registered()];
      mailer.decide = async (mail) => {
        if (mail.to === addressOf(failing)) throw busy(mail.to);
      };
      const { sentEmails, outbox, deliver } = instance(mailer);
      jest.spyOn(sentEmails, 'retryLater').mockRejectedValueOnce(new Error('connection terminated'));

      await deliver(failing, ...others);
      await outbox.idle();

      for (const event of others) await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT' });
      // Its outcome unrecorded, the failed mail keeps its claim until the lease runs out, then is sent again.
      await expect(rowOf(failing.id)).resolves.toMatchObject({ status: 'SENDING', claimToken: expect.any(String) });
    });
  });

  describe('when a mail is refused for now on every attempt', () => {
    it('parks it after EMAIL_MAX_ATTEMPTS, sends it no more, and sends it once retried', async () => {
      const mailer = new FakeMailer();
      const event = registered();
      let refusing = true;
      mailer.decide = async (mail) => {
        if (refusing) throw busy(mail.to);
      };
      const { outbox, deliver } = instance(mailer, { EMAIL_MAX_ATTEMPTS: 3 });
      await deliver(event);

      const parked = await waitFor(
        async () => {
          await outbox.resendDue();
          await outbox.idle();
          return rowOf(event.id);
        },
        (row) => row.status === 'PARKED',
        { description: 'the mail to be parked' },
      );
      expect(parked).toMatchObject({ attempts: 3, parkedAt: expect.any(Date), lastError: expect.stringContaining('mailbox busy') });
      expect(mailer.begunTo(addressOf(event))).toHaveLength(3);
      await prisma.$executeRaw`UPDATE sent_email SET next_attempt_at = now() - interval '1 hour' WHERE event_id = ${event.id}::uuid`;
      await expect(outbox.resendDue()).resolves.toBe(0);
      expect(mailer.begunTo(addressOf(event))).toHaveLength(3);

      refusing = false;
      await expect(outbox.retryParked(parked.id)).resolves.toBe(1);
      await outbox.idle();
      expect(mailer.acceptedTo(addressOf(event))).toHaveLength(1);
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT', attempts: 1, parkedAt: null });
    });

    it('waits longer after each attempt (backoff)', async () => {
      const mailer = new FakeMailer();
      const event = registered();
      mailer.decide = async (mail) => {
        throw busy(mail.to);
      };
      const { outbox, deliver } = instance(mailer, {
        EMAIL_MAX_ATTEMPTS: 5,
        EMAIL_RETRY_INITIAL_DELAY_MS: 60_000,
        EMAIL_RETRY_MAX_DELAY_MS: 600_000,
      });
      await deliver(event);
      await outbox.idle();
      const first = await rowOf(event.id);
      const firstWait = first.nextAttemptAt.getTime() - first.lastAttemptAt!.getTime();
      expect(firstWait).toBeGreaterThanOrEqual(0.8 * 60_000 - 1_000);
      expect(firstWait).toBeLessThanOrEqual(60_000 + 1_000);

      await prisma.$executeRaw`UPDATE sent_email SET next_attempt_at = now() WHERE event_id = ${event.id}::uuid`;
      await expect(outbox.resendDue()).resolves.toBe(1);
      await outbox.idle();
      const second = await rowOf(event.id);
      const secondWait = second.nextAttemptAt.getTime() - second.lastAttemptAt!.getTime();
      expect(second.attempts).toBe(2);
      expect(secondWait).toBeGreaterThanOrEqual(0.8 * 120_000 - 1_000);
    });
  });

  describe('when the mail server hangs', () => {
    it('the consumer records and acknowledges every batch without waiting for it', async () => {
      const mailer = new FakeMailer();
      const hung = gate();
      mailer.decide = () => hung.opened;
      const { outbox, deliver } = instance(mailer);
      const events = Array.from({ length: 20 }, registered);

      for (const event of events.slice(0, 10)) await expect(within(2_000, deliver(event))).resolves.toEqual([{ kind: 'ack', as: 'done' }]);
      const batch = await within(2_000, deliver(...events.slice(10)));
      expect(batch).toEqual(events.slice(10).map(() => ({ kind: 'ack', as: 'done' })));
      await expect(prisma.sentEmail.count({ where: { eventId: { in: events.map((event) => event.id) } } })).resolves.toBe(20);
      expect(mailer.accepted).toHaveLength(0);

      hung.open();
      await outbox.idle();
      for (const event of events) expect(mailer.acceptedTo(addressOf(event))).toHaveLength(1);
    });

    it('keeps at most EMAIL_SEND_CONCURRENCY sends in flight and hands what does not fit its queue to the sweep', async () => {
      const mailer = new FakeMailer();
      const hung = gate();
      mailer.decide = () => hung.opened;
      const { outbox, deliver } = instance(mailer, { EMAIL_SEND_CONCURRENCY: 2, EMAIL_SEND_QUEUE_LIMIT: 3 });
      const events = Array.from({ length: 5 }, registered);

      await within(2_000, deliver(...events)); // 3 taken (2 claimed at once, 1 waiting for a slot), 2 left for the sweep
      await waitFor(
        () => mailer.begun.length,
        (n) => n === 2,
        { description: 'two sends to begin' },
      );
      await waitFor(
        () => logLines.some((line) => line.includes('send queue full: 2 mail(s) handed to the resend sweep')),
        (logged) => logged,
        { description: 'the spill to be logged' },
      );

      hung.open();
      await outbox.idle();
      expect(mailer.accepted).toHaveLength(3);
      await waitFor(
        async () => {
          await outbox.resendDue();
          await outbox.idle();
          return mailer.accepted.length;
        },
        (n) => n === 5,
        { description: 'the sweep to send what the queue had no room for' },
      );
      for (const event of events) expect(mailer.acceptedTo(addressOf(event))).toHaveLength(1);
      expect(mailer.mostInFlight).toBe(2);
    });

    it('sends a backlog beyond its queue as slots free up, without waiting for the lease', async () => {
      // A lease and a sweep interval far longer than the test: the spilled mails must not wait for either.
      const mailer = new FakeMailer();
      const hung = gate();
      mailer.decide = () => hung.opened;
      const { outbox, deliver } = instance(mailer, {
        EMAIL_RESEND_AFTER_MS: 600_000,
        EMAIL_RESEND_INTERVAL_MS: 600_000,
        EMAIL_SEND_CONCURRENCY: 4,
        EMAIL_SEND_QUEUE_LIMIT: 2,
      });
      outbox.onApplicationBootstrap();
      const events = Array.from({ length: 30 }, registered);

      await within(2_000, deliver(...events)); // 2 queued (and claimed at once), 28 spilled
      await waitFor(
        () => logLines.some((line) => line.includes('send queue full: 28 mail(s) handed to the resend sweep')),
        (logged) => logged,
        { description: 'the backlog to be spilled' },
      );
      hung.open();
      await waitFor(
        () => mailer.accepted.length,
        (n) => n === events.length,
        { description: 'every mail of the backlog to be sent', timeoutMs: 10_000 },
      );
      for (const event of events) expect(mailer.acceptedTo(addressOf(event))).toHaveLength(1);
      expect(mailer.mostInFlight).toBeLessThanOrEqual(4);
    });

    it('stops within EMAIL_SHUTDOWN_GRACE_MS, and the unsent mail is sent after its lease by another instance', async () => {
      const mailer = new FakeMailer();
      mailer.decide = () => new Promise<void>(() => {}); // never answers
      const { outbox, deliver } = instance(mailer, { EMAIL_SHUTDOWN_GRACE_MS: 200 });
      const event = registered();
      await within(2_000, deliver(event));
      await waitFor(
        () => mailer.begun.length,
        (n) => n === 1,
        { description: 'the send to begin' },
      );

      await within(1_000, outbox.beforeApplicationShutdown());
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENDING' });

      const next = new FakeMailer();
      const { outbox: nextOutbox } = instance(next);
      await waitFor(
        () => nextOutbox.resendDue(),
        (tried) => tried === 1,
        { description: 'the next instance to send the mail' },
      );
      await nextOutbox.idle();
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT' });
    });
  });

  describe('what it logs', () => {
    it('names mails by their id and event, never by the recipient', async () => {
      const mailer = new FakeMailer();
      const [refused, parked, lapsed] = [registered(), registered(), registered()];
      const lapsedSend = gate();
      mailer.decide = async (mail) => {
        if (mail.to === addressOf(refused)) throw new PermanentMailError(`550 5.1.1 <${mail.to}>: no such user`);
        if (mail.to === addressOf(parked)) throw busy(mail.to);
        if (mail.to === addressOf(lapsed)) await lapsedSend.opened;
      };
      const { sentEmails, outbox, deliver } = instance(mailer, { EMAIL_MAX_ATTEMPTS: 2 });
      jest.spyOn(sentEmails, 'renew').mockResolvedValue(0);
      jest.spyOn(sentEmails, 'markSent').mockResolvedValueOnce(false); // the lapsed claim's outcome

      await deliver(refused, parked, lapsed);
      await waitFor(
        async () => {
          await outbox.resendDue();
          return rowOf(parked.id);
        },
        (row) => row.status === 'PARKED',
        { description: 'the mail to be parked' },
      );
      lapsedSend.open();
      await outbox.idle();

      const ids = await Promise.all([refused, parked, lapsed].map(async (event) => (await rowOf(event.id)).id));
      for (const id of ids) expect(logLines.some((line) => line.includes(`mail ${id}`))).toBe(true);
      const addresses = [refused, parked, lapsed].map(addressOf);
      expect(logLines.filter((line) => addresses.some((address) => line.toLowerCase().includes(address)))).toEqual([]);
    });
  });

  describe('retention of sent mails', () => {
    it('prunes mails sent longer ago than EMAIL_SENT_RETENTION_DAYS, and keeps the rest', async () => {
      const { outbox } = instance(new FakeMailer(), { EMAIL_SENT_RETENTION_DAYS: 30 });
      const insert = (status: string, sentDaysAgo: number | null) =>
        db.pool
          .query<{ id: string }>(
            `INSERT INTO sent_email (id, event_id, kind, "to", subject, body, status, sent_at, created_at)
             VALUES (gen_random_uuid(), gen_random_uuid(), 'welcome', 'old@example.com', 'Hi', 'Hello', $1::email_status,
                     now() - make_interval(days => $2::int), now() - interval '40 days')
             RETURNING id`,
            [status, sentDaysAgo],
          )
          .then(({ rows }) => rows[0].id);
      const old = await insert('SENT', 31);
      const recent = await insert('SENT', 29);
      const failed = await insert('FAILED', null);
      const parked = await insert('PARKED', null);

      await expect(outbox.pruneSent()).resolves.toBeGreaterThanOrEqual(1);
      const left = await prisma.sentEmail.findMany({ where: { id: { in: [old, recent, failed, parked] } }, select: { id: true } });
      expect(left.map(({ id }) => id).sort()).toEqual([recent, failed, parked].sort());
    });
  });
});
