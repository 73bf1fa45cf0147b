import { ZodValidationPipe } from '@boxoffice/platform';
import { ConflictException, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import type { SentEmail } from '../generated/prisma/client.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { SentEmails } from '../mail/sent-emails.js';

const listQuery = z.strictObject({
  to: z.string().trim().toLowerCase().pipe(z.email()).optional(),
  status: z.enum(['SENDING', 'SENT', 'FAILED', 'PARKED']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const mailId = z.uuid();

const eraseQuery = z.strictObject({ to: z.string().trim().toLowerCase().pipe(z.email()) });

/**
 * What the service sent, or means to send: to see a mail's status without an SMTP inbox, and to
 * act on the mails that were parked after their last attempt (retry, or discard).
 */
@Controller('emails')
export class EmailsController {
  constructor(
    private readonly sentEmails: SentEmails,
    private readonly outbox: MailOutbox,
  ) {}

  /** `?status=PARKED` lists the mails waiting for a person. */
  @Get()
  async list(@Query(new ZodValidationPipe(listQuery, 'query')) query: z.infer<typeof listQuery>) {
    return { emails: (await this.sentEmails.list(query)).map(viewOf) };
  }

  @Get(':id')
  async find(@Param('id', new ZodValidationPipe(mailId, 'id')) id: string) {
    return viewOf(await this.existing(id));
  }

  /** Every parked mail back to SENDING; the resend sweep sends them a batch at a time. */
  @Post('parked/retry')
  @HttpCode(202)
  async retryAllParked() {
    return { retried: await this.outbox.retryParked(null) };
  }

  /** A parked mail back to SENDING, with a fresh set of attempts; sent at once. */
  @Post(':id/retry')
  @HttpCode(202)
  async retry(@Param('id', new ZodValidationPipe(mailId, 'id')) id: string) {
    if ((await this.outbox.retryParked(id)) === 0) this.refuse(await this.existing(id), 'retried');
    return { id, status: 'SENDING' };
  }

  /** A parked mail that shall not be sent: FAILED, for good. */
  @Post(':id/discard')
  @HttpCode(200)
  async discard(@Param('id', new ZodValidationPipe(mailId, 'id')) id: string) {
    if (!(await this.sentEmails.discardParked(id))) this.refuse(await this.existing(id), 'discarded');
    return { id, status: 'FAILED' };
  }

  /**
   * A person's request to be forgotten: every mail to the address loses its recipient, subject
   * and body (SentEmails.eraseRecipient). Audit erases its entries of the same person
   * (POST /audit/erasures); docs/security.md has the whole request.
   */
  @Delete()
  @HttpCode(200)
  async erase(@Query(new ZodValidationPipe(eraseQuery, 'query')) query: z.infer<typeof eraseQuery>) {
    return { erased: await this.sentEmails.eraseRecipient(query.to) };
  }

  private async existing(id: string): Promise<SentEmail> {
    const email = await this.sentEmails.find(id);
    if (!email) throw new NotFoundException(`mail ${id} does not exist`);
    return email;
  }

  private refuse(email: SentEmail, action: string): never {
    throw new ConflictException(`mail ${email.id} is ${email.status}: only a PARKED mail can be ${action}`);
  }
}

function viewOf(email: SentEmail) {
  return {
    id: email.id,
    eventId: email.eventId,
    kind: email.kind,
    to: email.to,
    subject: email.subject,
    body: email.body,
    status: email.status,
    attempts: email.attempts,
    lastError: email.lastError,
    createdAt: email.createdAt.toISOString(),
    sentAt: email.sentAt?.toISOString() ?? null,
    nextAttemptAt: email.status === 'SENDING' ? email.nextAttemptAt.toISOString() : null,
    parkedAt: email.parkedAt?.toISOString() ?? null,
  };
}
