import { ZodValidationPipe } from '@boxoffice/platform';
import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { SentEmails } from '../mail/sent-emails.js';

const listQuery = z.strictObject({
  to: z.string().trim().toLowerCase().pipe(z.email()).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** What the service sent, or means to send: to see a mail's status without an SMTP inbox. */
@Controller('emails')
export class EmailsController {
  constructor(private readonly sentEmails: SentEmails) {}

  @Get()
  async list(@Query(new ZodValidationPipe(listQuery, 'query')) query: z.infer<typeof listQuery>) {
    const emails = await this.sentEmails.list(query);
    return {
      emails: emails.map((email) => ({
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
      })),
    };
  }
}
