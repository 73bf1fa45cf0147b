import { uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient, Tx } from '../database.js';
import type { SentEmail } from '../generated/prisma/client.js';
import type { Mail } from './mail.js';

/** A mail claimed for one send attempt. */
export type ClaimedMail = Pick<SentEmail, 'id' | 'eventId' | 'to' | 'subject' | 'body'>;

/**
 * The `sent_email` table: one row per mail, keyed by the event that caused it. A row is a promise
 * to send (SENDING) until the SMTP server has accepted the mail (SENT) or refused it for good (FAILED).
 * Every write is one plain statement for a whole batch of mails: Prisma's model methods cost a
 * few times the CPU of the SQL they send (createMany: about 1.4 ms per row against 0.5 ms).
 */
@Injectable()
export class SentEmails {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** In the batch's transaction: from its commit on, each mail is due whatever happens next. One INSERT for all. */
  async record(tx: Tx, mails: ReadonlyArray<{ readonly eventId: string; readonly mail: Mail }>): Promise<void> {
    if (mails.length === 0) return;
    const rows = mails.map(({ eventId, mail }) => ({
      id: uuidV7(),
      event_id: eventId,
      kind: mail.kind,
      to: mail.to,
      subject: mail.subject,
      body: mail.body,
    }));
    await tx.$executeRawUnsafe(
      `INSERT INTO sent_email (id, event_id, kind, "to", subject, body)
       SELECT id, event_id, kind, "to", subject, body
         FROM json_to_recordset($1::json) AS m(id uuid, event_id uuid, kind text, "to" text, subject text, body text)`,
      JSON.stringify(rows),
    );
  }

  /**
   * Claims the events' mails for a send attempt: those unsent that nobody attempted within the
   * last `leaseMs`. One conditional UPDATE, so of two claimants exactly one wins each mail.
   */
  async claim(eventIds: ReadonlyArray<string>, leaseMs: number): Promise<ClaimedMail[]> {
    if (eventIds.length === 0) return [];
    return this.prisma.$queryRawUnsafe<ClaimedMail[]>(
      `UPDATE sent_email SET attempts = attempts + 1, last_attempt_at = now()
        WHERE event_id IN (SELECT value::uuid FROM json_array_elements_text($1::json)) AND status = 'SENDING'
          AND (last_attempt_at IS NULL OR last_attempt_at < now() - make_interval(secs => $2::float8 / 1000))
       RETURNING id, event_id AS "eventId", "to", subject, body`,
      JSON.stringify(eventIds),
      leaseMs,
    );
  }

  /** Claims up to `limit` mails that are still unsent `leaseMs` after their last attempt (or their recording). */
  async claimStale(leaseMs: number, limit: number): Promise<ClaimedMail[]> {
    return this.prisma.$queryRaw<ClaimedMail[]>`
      UPDATE sent_email SET attempts = attempts + 1, last_attempt_at = now()
       WHERE id IN (
         SELECT id FROM sent_email
          WHERE status = 'SENDING'
            AND coalesce(last_attempt_at, created_at) < now() - make_interval(secs => ${leaseMs}::float8 / 1000)
          ORDER BY created_at
          LIMIT ${limit}
            FOR UPDATE SKIP LOCKED)
      RETURNING id, event_id AS "eventId", "to", subject, body`;
  }

  async markSent(ids: ReadonlyArray<string>): Promise<void> {
    if (ids.length === 0) return;
    await this.prisma.$executeRawUnsafe(
      `UPDATE sent_email SET status = 'SENT', sent_at = now(), last_error = NULL WHERE id IN (SELECT value::uuid FROM json_array_elements_text($1::json))`,
      JSON.stringify(ids),
    );
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE sent_email SET status = 'FAILED', last_error = ${error} WHERE id = ${id}::uuid`;
  }

  /** A transient failure: the row stays SENDING and the resend sweep tries again after the lease. */
  async recordError(id: string, error: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE sent_email SET last_error = ${error} WHERE id = ${id}::uuid`;
  }

  /** Newest first. */
  async list(filter: { to?: string; limit: number }): Promise<SentEmail[]> {
    return this.prisma.sentEmail.findMany({
      where: filter.to ? { to: filter.to } : {},
      orderBy: { createdAt: 'desc' },
      take: filter.limit,
    });
  }
}
