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
 * Every write is one plain statement: they run for each mail, and Prisma's model methods cost
 * a few times the CPU of the SQL they send (createMany: about 1.4 ms per row against 0.5 ms).
 */
@Injectable()
export class SentEmails {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Inside the inbox transaction: from its commit on, the mail is due whatever happens next. */
  async record(tx: Tx, eventId: string, mail: Mail): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO sent_email (id, event_id, kind, "to", subject, body)
      VALUES (${uuidV7()}::uuid, ${eventId}::uuid, ${mail.kind}, ${mail.to}, ${mail.subject}, ${mail.body})`;
  }

  /**
   * Claims the event's mail for a send attempt: only if it is unsent and nobody attempted it
   * within the last `leaseMs`. One conditional UPDATE, so of two claimants exactly one wins.
   */
  async claim(eventId: string, leaseMs: number): Promise<ClaimedMail | null> {
    const rows = await this.prisma.$queryRaw<ClaimedMail[]>`
      UPDATE sent_email SET attempts = attempts + 1, last_attempt_at = now()
       WHERE event_id = ${eventId}::uuid AND status = 'SENDING'
         AND (last_attempt_at IS NULL OR last_attempt_at < now() - make_interval(secs => ${leaseMs}::float8 / 1000))
      RETURNING id, event_id AS "eventId", "to", subject, body`;
    return rows[0] ?? null;
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

  async markSent(id: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE sent_email SET status = 'SENT', sent_at = now(), last_error = NULL WHERE id = ${id}::uuid`;
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
