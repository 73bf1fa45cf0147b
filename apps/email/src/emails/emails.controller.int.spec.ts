import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServiceDatabase, PRISMA, providePrisma } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { EMAIL_CONFIG } from '../email.config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { MailOutbox, type MailOutboxSettings } from '../mail/mail.outbox.js';
import { MAILER, type Mailer, type OutgoingMail } from '../mail/mailer.port.js';
import { SentEmails } from '../mail/sent-emails.js';
import { EmailsController } from './emails.controller.js';

const settings: MailOutboxSettings = {
  EMAIL_RESEND_AFTER_MS: 60_000,
  EMAIL_RESEND_INTERVAL_MS: 60_000, // the sweep is driven by hand here, with resendDue()
  EMAIL_MAX_ATTEMPTS: 1, // the first refusal parks the mail
  EMAIL_RETRY_INITIAL_DELAY_MS: 1,
  EMAIL_RETRY_MAX_DELAY_MS: 5,
  EMAIL_SEND_CONCURRENCY: 10,
  EMAIL_SEND_QUEUE_LIMIT: 100,
  EMAIL_SHUTDOWN_GRACE_MS: 200,
  EMAIL_SENT_RETENTION_DAYS: 30,
};

/** Refuses every mail for now while `refusing`, as a mail server in an outage does. */
class SwitchableMailer implements Mailer {
  refusing = true;
  readonly accepted: OutgoingMail[] = [];

  async send(mail: OutgoingMail): Promise<void> {
    if (this.refusing) throw new Error('421 4.3.2 service not available');
    this.accepted.push(mail);
  }
}

describe('GET /emails and the parked mails', () => {
  const mailer = new SwitchableMailer();
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let url: string;
  let outbox: MailOutbox;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('email_controller', 'apps/email/prisma/migrations');
    @Module({})
    class EmailsModule {}
    const module: DynamicModule = {
      module: EmailsModule,
      controllers: [EmailsController],
      providers: [
        { provide: EMAIL_CONFIG, useValue: settings },
        ...providePrisma(() => createServiceDatabase(PrismaClient, db.url, 4)),
        { provide: MAILER, useValue: mailer },
        SentEmails,
        MailOutbox,
      ],
    };
    app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    outbox = app.get(MailOutbox);
    prisma = app.get(PRISMA);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  /** A mail as the handler leaves it: recorded in a transaction, then handed to the sender; once its attempt is over. */
  const recordAndSend = async (to = `${randomUUID()}@example.com`, eventId = randomUUID()) => {
    await prisma.$transaction((tx) => outbox.record(tx, [{ eventId, mail: { kind: 'welcome', to, subject: 'Hi', body: 'Hello' } }]));
    outbox.sendRecorded([eventId]);
    await outbox.idle();
    return (await prisma.sentEmail.findUniqueOrThrow({ where: { eventId } })).id;
  };
  const parkedMail = async () => {
    mailer.refusing = true;
    const id = await recordAndSend();
    // Parked by its one failed attempt, whose outcome may commit just after the sender went idle.
    // A claim that failed (a busy database) leaves the mail to the resend sweep, a minute away:
    // offered again meanwhile, as the sweep would, it is claimed once and only once.
    await waitFor(
      async () => {
        const mail = await prisma.sentEmail.findUniqueOrThrow({ where: { id } });
        if (mail.attempts === 0) outbox.sendRecorded([mail.eventId]);
        return mail;
      },
      (mail) => mail.status === 'PARKED',
      { description: `mail ${id} parked` },
    );
    return id;
  };
  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string) => {
    const response = await fetch(`${url}${path}`, { method });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const statusOf = async (id: string) => (await call('GET', `/emails/${id}`)).body.status;

  it('lists the parked mails with ?status=PARKED', async () => {
    const id = await parkedMail();
    const { status, body } = await call('GET', '/emails?status=PARKED');
    expect(status).toBe(200);
    expect(body.emails).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id,
          status: 'PARKED',
          attempts: 1,
          parkedAt: expect.any(String),
          lastError: expect.stringContaining('421'),
        }),
      ]),
    );
    expect((body.emails as Array<{ status: string }>).every((email) => email.status === 'PARKED')).toBe(true);
  });

  it('sends a parked mail again on POST /emails/:id/retry', async () => {
    const id = await parkedMail();
    mailer.refusing = false;

    await expect(call('POST', `/emails/${id}/retry`)).resolves.toEqual({ status: 202, body: { id, status: 'SENDING' } });
    await outbox.idle();
    await expect(call('GET', `/emails/${id}`)).resolves.toMatchObject({
      status: 200,
      body: { id, status: 'SENT', attempts: 1, parkedAt: null },
    });
  });

  it('retries every parked mail on POST /emails/parked/retry, for the sweep to send', async () => {
    const ids = [await parkedMail(), await parkedMail()];
    mailer.refusing = false;

    const { status, body } = await call('POST', '/emails/parked/retry');
    expect(status).toBe(202);
    expect(body.retried).toBeGreaterThanOrEqual(2);
    await expect(outbox.resendDue()).resolves.toBeGreaterThanOrEqual(2);
    await outbox.idle();
    for (const id of ids) await expect(statusOf(id)).resolves.toBe('SENT');
  });

  it('discards a parked mail on POST /emails/:id/discard: FAILED, and not to be retried', async () => {
    const id = await parkedMail();
    await expect(call('POST', `/emails/${id}/discard`)).resolves.toEqual({ status: 200, body: { id, status: 'FAILED' } });
    await expect(statusOf(id)).resolves.toBe('FAILED');
    await expect(call('POST', `/emails/${id}/retry`)).resolves.toMatchObject({ status: 409 });
  });

  it('refuses to retry or discard a mail that is not parked (409)', async () => {
    mailer.refusing = false;
    const id = await recordAndSend();
    const retried = await call('POST', `/emails/${id}/retry`);
    expect(retried).toMatchObject({ status: 409, body: { message: `mail ${id} is SENT: only a PARKED mail can be retried` } });
    await expect(call('POST', `/emails/${id}/discard`)).resolves.toMatchObject({ status: 409 });
  });

  it('erases every mail to an address on DELETE /emails?to=, keeping tombstones so that a redelivered event mails no one', async () => {
    const to = `${randomUUID()}@example.com`;
    mailer.refusing = false;
    const sentEventId = randomUUID();
    const sent = await recordAndSend(to, sentEventId);
    mailer.refusing = true;
    const parked = await recordAndSend(to);

    await expect(call('DELETE', `/emails?to=${encodeURIComponent(to)}`)).resolves.toEqual({ status: 200, body: { erased: 2 } });
    await expect(call('GET', `/emails?to=${encodeURIComponent(to)}`)).resolves.toEqual({ status: 200, body: { emails: [] } });
    await expect(prisma.sentEmail.findUniqueOrThrow({ where: { id: sent } })).resolves.toMatchObject({
      to: '',
      subject: '',
      body: '',
      status: 'SENT',
    });
    await expect(prisma.sentEmail.findUniqueOrThrow({ where: { id: parked } })).resolves.toMatchObject({
      to: '',
      body: '',
      status: 'FAILED',
      lastError: 'erased on request',
    });
    // The same event again (a redelivery, a replay): the tombstone is its record, nothing is sent.
    mailer.refusing = false;
    const acceptedBefore = mailer.accepted.length;
    await recordAndSend(to, sentEventId);
    expect(mailer.accepted.length).toBe(acceptedBefore);
    await expect(prisma.sentEmail.count({ where: { eventId: sentEventId } })).resolves.toBe(1);
    await expect(prisma.sentEmail.findUniqueOrThrow({ where: { eventId: sentEventId } })).resolves.toMatchObject({ to: '' });
  });

  it('answers 400 to an erasure without a valid address, and erases nothing', async () => {
    await expect(call('DELETE', '/emails')).resolves.toMatchObject({ status: 400 });
    await expect(call('DELETE', '/emails?to=not-an-address')).resolves.toMatchObject({ status: 400 });
  });

  it('answers 404 for a mail that does not exist', async () => {
    const id = randomUUID();
    for (const [method, path] of [
      ['GET', `/emails/${id}`],
      ['POST', `/emails/${id}/retry`],
      ['POST', `/emails/${id}/discard`],
    ] as const) {
      await expect(call(method, path)).resolves.toMatchObject({ status: 404, body: { message: `mail ${id} does not exist` } });
    }
  });

  it('answers 400 with the field at fault for a bad id or filter', async () => {
    await expect(call('POST', '/emails/not-a-mail/retry')).resolves.toMatchObject({ status: 400, body: { errors: [{ field: 'id' }] } });
    await expect(call('GET', '/emails/42')).resolves.toMatchObject({ status: 400, body: { errors: [{ field: 'id' }] } });
    await expect(call('GET', '/emails?status=LOST')).resolves.toMatchObject({ status: 400, body: { errors: [{ field: 'query.status' }] } });
  });
});
