import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { UserRegistered } from '@boxoffice/contracts';
import type { Envelope } from '@boxoffice/contracts';
import { ConsumerPipeline, EnvelopeFactory, type SqlExecutor } from '@boxoffice/messaging';
import { createServiceDatabase, type ServiceDatabase } from '@boxoffice/platform';
import { createMigratedTestDatabase, TestSmtpServer, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from '../generated/prisma/client.js';
import { emailHandlers } from '../email.handlers.js';
import { NotificationMailHandler } from '../notifications/notification-mail.handler.js';
import { MailOutbox, messageIdOf, type MailOutboxSettings } from './mail.outbox.js';
import { SentEmails } from './sent-emails.js';
import { SmtpMailer } from './smtp.mailer.js';

/** Short, so that "still unsent after the lease" comes quickly; waits below poll for it. */
const RESEND_AFTER_MS = 300;

const settings: MailOutboxSettings = {
  EMAIL_RESEND_AFTER_MS: RESEND_AFTER_MS,
  EMAIL_RESEND_INTERVAL_MS: 60_000, // the sweep is driven by hand here, with resendDue()
  EMAIL_MAX_ATTEMPTS: 8,
  EMAIL_RETRY_INITIAL_DELAY_MS: 100,
  EMAIL_RETRY_MAX_DELAY_MS: 1_000,
  EMAIL_SEND_CONCURRENCY: 10,
  EMAIL_SEND_QUEUE_LIMIT: 1_000,
  EMAIL_SHUTDOWN_GRACE_MS: 1_000,
  EMAIL_SENT_RETENTION_DAYS: 30,
};

describe('record-then-send: one mail per event', () => {
  const smtp = new TestSmtpServer();
  const envelopes = new EnvelopeFactory('checkout');
  let db: TestDatabase;
  let prisma: PrismaClient;
  let database: ServiceDatabase<PrismaClient>;
  let mailer: SmtpMailer;
  let sentEmails: SentEmails;
  let outbox: MailOutbox;
  let pipeline: ConsumerPipeline<SqlExecutor>;

  beforeAll(async () => {
    const url = await smtp.start();
    db = await createMigratedTestDatabase('email_outbox', 'apps/email/prisma/migrations');
    database = createServiceDatabase(PrismaClient, db.url);
    prisma = database.prisma;
    mailer = new SmtpMailer({ url, from: 'boxoffice <tickets@boxoffice.example>', maxConnections: 2, timeoutMs: 5_000 });
    sentEmails = new SentEmails(database.sql, prisma);
    outbox = new MailOutbox(sentEmails, mailer, settings);
    const handler = new NotificationMailHandler(outbox);
    // The service's own pipeline and handlers: a delivery here is what the Kafka consumer hands over.
    pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'email',
      handlers: emailHandlers.map(({ message }) => ({ message, handler })),
      database: database.sql,
    });
  });
  afterAll(async () => {
    await outbox.beforeApplicationShutdown();
    mailer.onApplicationShutdown();
    await database.close();
    await db.drop();
    await smtp.stop();
  });

  const registered = () => {
    const email = `${randomUUID()}@example.com`;
    return envelopes.create(UserRegistered, { userId: randomUUID(), email, name: 'Ada', ip: '127.0.0.1', userAgent: 'jest' });
  };
  /** One delivery of the event to Email's pipeline, as from the users topic; its settlement. */
  const deliver = async (event: Envelope) =>
    (await pipeline.process('boxoffice.users', [{ body: JSON.stringify(event), headers: {} }], { ordered: true, exclusive: false }))[0];
  /** A delivery, and the background sends it started: the consumer does not wait for them. */
  const deliverAndSend = async (event: Envelope) => {
    const settlement = await deliver(event);
    await outbox.idle();
    return settlement;
  };
  const rowOf = (eventId: string) => prisma.sentEmail.findUniqueOrThrow({ where: { eventId } });
  /** Runs the resend sweep until it has sent something (it only does once the lease or the backoff has passed), and waits for the sends. */
  const resendOnceDue = async () => {
    await waitFor(
      () => outbox.resendDue(),
      (tried) => tried > 0,
      { description: 'the resend sweep to pick the mail up' },
    );
    await outbox.idle();
  };

  it('sends a welcome mail when somebody signs up, and records it as SENT', async () => {
    const event = registered();
    await expect(deliverAndSend(event)).resolves.toEqual({ kind: 'ack', as: 'done' });

    expect(smtp.to(event.payload.email)).toEqual([
      {
        to: [event.payload.email],
        subject: 'Welcome to boxoffice, Ada',
        messageId: messageIdOf(event.id),
        text: expect.stringContaining('Hello Ada,'),
      },
    ]);
    await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT', kind: 'welcome', attempts: 1, sentAt: expect.any(Date) });
  });

  describe('when the same event arrives twice at once', () => {
    it('sends one mail', async () => {
      const event = registered();
      await Promise.all([deliverAndSend(event), deliverAndSend(event)]);
      await deliverAndSend(event);

      expect(smtp.to(event.payload.email)).toHaveLength(1);
      await expect(outbox.resendDue()).resolves.toBe(0);
    });
  });

  describe('when recording fails before the batch transaction commits', () => {
    it('sends nothing, and the retried event sends the mail once', async () => {
      const event = registered();
      jest.spyOn(sentEmails, 'record').mockRejectedValueOnce(new Error('connection terminated'));
      await expect(deliver(event)).resolves.toMatchObject({ kind: 'retry', reason: 'connection terminated' });
      expect(smtp.to(event.payload.email)).toHaveLength(0);
      await expect(prisma.sentEmail.count({ where: { eventId: event.id } })).resolves.toBe(0);

      await deliverAndSend(event);
      expect(smtp.to(event.payload.email)).toHaveLength(1);
    });
  });

  describe('when the process dies after recording the mail and before sending it', () => {
    /** What a delivery does up to the crash: the batch's transaction commits the mail as SENDING. */
    const recordOnly = async (event: ReturnType<typeof registered>) => {
      const sendRecorded = jest.spyOn(outbox, 'sendRecorded').mockImplementationOnce(() => undefined);
      await deliver(event);
      sendRecorded.mockRestore();
    };

    it('the resend sweep sends it, once', async () => {
      const event = registered();
      await recordOnly(event);
      await expect(outbox.resendDue()).resolves.toBe(0); // not yet: the lease has not passed

      await resendOnceDue();
      expect(smtp.to(event.payload.email)).toHaveLength(1);
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT' });
      await expect(outbox.resendDue()).resolves.toBe(0);
    });

    it('a redelivery of the event is a duplicate, and the sweep still sends the mail once', async () => {
      const event = registered();
      await recordOnly(event);

      await expect(deliver(event)).resolves.toEqual({ kind: 'ack', as: 'duplicate' });
      await resendOnceDue();
      expect(smtp.to(event.payload.email)).toHaveLength(1);
      await expect(prisma.sentEmail.count({ where: { eventId: event.id } })).resolves.toBe(1);
    });
  });

  describe('when the process dies after the SMTP server accepted the mail and before marking it SENT', () => {
    it('sends it a second time, with the same Message-ID: the window this design leaves open', async () => {
      const event = registered();
      jest.spyOn(sentEmails, 'markSent').mockRejectedValueOnce(new Error('process killed'));
      // The batch is done (its transaction committed); the failure after it is only logged.
      await expect(deliverAndSend(event)).resolves.toEqual({ kind: 'ack', as: 'done' });
      expect(smtp.to(event.payload.email)).toHaveLength(1);

      await resendOnceDue();
      const copies = smtp.to(event.payload.email);
      expect(copies).toHaveLength(2);
      expect(copies.map((mail) => mail.messageId)).toEqual([messageIdOf(event.id), messageIdOf(event.id)]);
    });
  });

  describe('when the SMTP server refuses the mail for now (451)', () => {
    it('keeps it SENDING with the reason, and a resend after the backoff delivers it', async () => {
      const event = registered();
      smtp.decide = (mail) =>
        mail.to.includes(event.payload.email) ? { accept: false, code: 451, message: 'try again later' } : { accept: true };
      await expect(deliverAndSend(event)).resolves.toEqual({ kind: 'ack', as: 'done' });
      await expect(rowOf(event.id)).resolves.toMatchObject({
        status: 'SENDING',
        lastError: expect.stringContaining('try again later'),
        claimToken: null,
      });

      smtp.decide = () => ({ accept: true });
      await resendOnceDue();
      expect(smtp.to(event.payload.email)).toHaveLength(1);
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'SENT', attempts: 2, lastError: null });
    });
  });

  describe('when the SMTP server refuses the mail for good (550)', () => {
    it('marks it FAILED and never sends it again', async () => {
      const event = registered();
      smtp.decide = (mail) =>
        mail.to.includes(event.payload.email) ? { accept: false, code: 550, message: 'no such mailbox' } : { accept: true };
      await deliverAndSend(event);
      await expect(rowOf(event.id)).resolves.toMatchObject({ status: 'FAILED', lastError: expect.stringContaining('no such mailbox') });

      smtp.decide = () => ({ accept: true });
      await prisma.$executeRaw`UPDATE sent_email SET next_attempt_at = now() - interval '1 hour' WHERE event_id = ${event.id}::uuid`;
      await expect(outbox.resendDue()).resolves.toBe(0);
      expect(smtp.to(event.payload.email)).toHaveLength(0);
    });
  });
});
