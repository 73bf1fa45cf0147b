import { uuidV7 } from '@boxoffice/messaging';
import { PRISMA, SQL, type Sql } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient, Tx } from '../database.js';
import type { EmailStatus, SentEmail } from '../generated/prisma/client.js';
import type { Mail } from './mail.js';

/** One claim on one mail: the token its claim wrote, which every outcome must present (the fence). */
export type Claim = Pick<SentEmail, 'id'> & { readonly claimToken: string };

/** A mail claimed for one send attempt; `attempts` counts this one. */
export type ClaimedMail = Claim & Pick<SentEmail, 'eventId' | 'to' | 'subject' | 'body' | 'attempts'>;

const CLAIMED_COLUMNS = `id, event_id AS "eventId", "to", subject, body, attempts, claim_token AS "claimToken"`;

/**
 * The rows whose claims are given as $1 (ids) and $2 (their tokens), for `UPDATE sent_email AS e
 * FROM`. The rows are found by their keys (`= ANY`): a join on the pairs alone may be planned as a
 * scan of every mail still SENDING, and a backlog has tens of thousands.
 */
const HELD_CLAIMS = `unnest($1::uuid[], $2::uuid[]) AS c(id, claim_token)
  WHERE e.id = ANY($1::uuid[]) AND e.id = c.id AND e.claim_token = c.claim_token`;

function claimParameters(claims: ReadonlyArray<Claim>): [string[], string[]] {
  return [claims.map((claim) => claim.id), claims.map((claim) => claim.claimToken)];
}

/** Sent mails marked in one UPDATE at most: the rest wait for the next. */
const MARK_SENT_BATCH = 500;

/**
 * The `sent_email` table: one row per mail, keyed by the event that caused it. A row is a promise
 * to send (SENDING) until the SMTP server has accepted the mail (SENT), refused it for good
 * (FAILED), or refused it for now too often (PARKED, until a person retries or discards it).
 *
 * Claims are fenced: each claim writes a fresh `claim_token`, and an outcome is recorded only
 * where the row still carries the token of the claim it belongs to. A claimant that stalled past
 * its lease while another took the mail over changes nothing when it wakes up.
 *
 * Writes on the hot path are one plain statement for many mails, sent through node-postgres (SQL):
 * Prisma's model methods cost a few times the CPU of the SQL they send (createMany: about 1.4 ms
 * per row against 0.5 ms), and even its raw statements about twice node-postgres' own.
 */
@Injectable()
export class SentEmails {
  private readonly toMarkSent: Array<{ readonly claim: Claim; readonly settle: (marked: boolean | Error) => void }> = [];
  private markingSent = false;

  constructor(
    @Inject(SQL) private readonly sql: Sql,
    /** The admin's reads and repairs, off the hot path. */
    @Inject(PRISMA) private readonly prisma: PrismaClient,
  ) {}

  /**
   * In the batch's transaction: from its commit on, each mail is due whatever happens next. One
   * INSERT for all. The mail is first due `leaseMs` later: until then it is the sender's of this
   * instance (claim), after that anybody's (claimDue). An event already recorded (a replay after
   * its inbox row was pruned) records nothing: the row is the mail's own idempotency key.
   */
  async record(tx: Tx, mails: ReadonlyArray<{ readonly eventId: string; readonly mail: Mail }>, leaseMs: number): Promise<void> {
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
      `INSERT INTO sent_email (id, event_id, kind, "to", subject, body, next_attempt_at)
       SELECT id, event_id, kind, "to", subject, body, now() + make_interval(secs => $2::float8 / 1000)
         FROM json_to_recordset($1::json) AS m(id uuid, event_id uuid, kind text, "to" text, subject text, body text)
       ON CONFLICT (event_id) DO NOTHING`,
      JSON.stringify(rows),
      leaseMs,
    );
  }

  /**
   * Claims the events' mails for a send attempt: those still SENDING that were never attempted,
   * or whose lease or backoff is over. One conditional UPDATE, so of two claimants exactly one
   * wins each mail, and the winner's token is on the row.
   */
  async claim(eventIds: ReadonlyArray<string>, leaseMs: number): Promise<ClaimedMail[]> {
    if (eventIds.length === 0) return [];
    return this.sql.$queryRawUnsafe<ClaimedMail[]>(
      `UPDATE sent_email
          SET attempts = attempts + 1, last_attempt_at = now(), claim_token = gen_random_uuid(),
              next_attempt_at = now() + make_interval(secs => $2::float8 / 1000)
        WHERE event_id = ANY($1::uuid[]) AND status = 'SENDING' AND (attempts = 0 OR next_attempt_at <= now())
       RETURNING ${CLAIMED_COLUMNS}`,
      eventIds,
      leaseMs,
    );
  }

  /**
   * Recorded mails never attempted, due now rather than after the recording's lease: the sender's
   * queue had no room for them, so they are the resend sweep's at once. Returns how many.
   */
  async dueNow(eventIds: ReadonlyArray<string>): Promise<number> {
    if (eventIds.length === 0) return 0;
    return this.sql.$executeRawUnsafe(
      `UPDATE sent_email SET next_attempt_at = now()
        WHERE event_id = ANY($1::uuid[]) AND status = 'SENDING' AND attempts = 0`,
      eventIds,
    );
  }

  /** Claims up to `limit` mails that are due: a lease that ran out, a backoff that is over, a recorded mail nobody sent. */
  async claimDue(leaseMs: number, limit: number): Promise<ClaimedMail[]> {
    if (limit <= 0) return [];
    return this.sql.$queryRawUnsafe<ClaimedMail[]>(
      `UPDATE sent_email
          SET attempts = attempts + 1, last_attempt_at = now(), claim_token = gen_random_uuid(),
              next_attempt_at = now() + make_interval(secs => $1::float8 / 1000)
        WHERE id IN (
          SELECT id FROM sent_email
           WHERE status = 'SENDING' AND next_attempt_at <= now()
           ORDER BY next_attempt_at
           LIMIT $2
             FOR UPDATE SKIP LOCKED)
       RETURNING ${CLAIMED_COLUMNS}`,
      leaseMs,
      limit,
    );
  }

  /** Extends the leases of claims still held (one UPDATE); returns how many were. */
  async renew(claims: ReadonlyArray<Claim>, leaseMs: number): Promise<number> {
    if (claims.length === 0) return 0;
    return this.sql.$executeRawUnsafe(
      `UPDATE sent_email AS e SET next_attempt_at = now() + make_interval(secs => $3::float8 / 1000)
         FROM ${HELD_CLAIMS} AND e.status = 'SENDING'`,
      ...claimParameters(claims),
      leaseMs,
    );
  }

  /**
   * The server accepted the mail. Resolves true if the claim still held (the mail is SENT now),
   * false if it had passed to another claimant. Each caller marks its own mail; the mails that
   * finish while one UPDATE runs are marked together by the next (a group commit).
   */
  markSent(claim: Claim): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.toMarkSent.push({ claim, settle: (marked) => (marked instanceof Error ? reject(marked) : resolve(marked)) });
      void this.markWaitingSent();
    });
  }

  /** The server refused the mail for good: resending would be refused too. False if fenced. */
  async markFailed(claim: Claim, error: string): Promise<boolean> {
    return this.settle(claim, `status = 'FAILED', last_error = $3`, error);
  }

  /** A transient failure: the mail stays SENDING and is due again in `delayMs`. False if fenced. */
  async retryLater(claim: Claim, error: string, delayMs: number): Promise<boolean> {
    return this.settle(claim, `last_error = $3, next_attempt_at = now() + make_interval(secs => $4::float8 / 1000)`, error, delayMs);
  }

  /** The last attempt failed too: out of the sweep's way until a person acts. False if fenced. */
  async park(claim: Claim, error: string): Promise<boolean> {
    return this.settle(claim, `status = 'PARKED', parked_at = now(), last_error = $3`, error);
  }

  async find(id: string): Promise<SentEmail | null> {
    return this.prisma.sentEmail.findUnique({ where: { id } });
  }

  /** Newest first. */
  async list(filter: { to?: string; status?: EmailStatus; limit: number }): Promise<SentEmail[]> {
    return this.prisma.sentEmail.findMany({
      where: { ...(filter.to ? { to: filter.to } : {}), ...(filter.status ? { status: filter.status } : {}) },
      orderBy: { createdAt: 'desc' },
      take: filter.limit,
    });
  }

  /**
   * Parked mails back to SENDING, due at once, with a fresh set of attempts: the one named, or all
   * of them when `id` is null. Returns the event ids of the mails retried.
   */
  async retryParked(id: string | null): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<Array<{ eventId: string }>>`
      UPDATE sent_email SET status = 'SENDING', attempts = 0, parked_at = NULL, claim_token = NULL, next_attempt_at = now()
       WHERE status = 'PARKED' AND (${id}::uuid IS NULL OR id = ${id}::uuid)
      RETURNING event_id AS "eventId"`;
    return rows.map((row) => row.eventId);
  }

  /**
   * A parked mail that will never be sent: FAILED. The row stays (rather than being deleted) so
   * that the event's mail stays recorded, and a replay of the event records no second one.
   */
  async discardParked(id: string): Promise<boolean> {
    const count = await this.prisma.$executeRaw`
      UPDATE sent_email SET status = 'FAILED', last_error = 'discarded: ' || coalesce(last_error, '')
       WHERE status = 'PARKED' AND id = ${id}::uuid`;
    return count === 1;
  }

  /**
   * Erases what Email holds about one address, on that person's request: every mail to it keeps
   * its row, as a tombstone, so a redelivered event is still recognised and not mailed again,
   * but loses its recipient, subject and body; one not yet sent never will be (FAILED, erased).
   * A send in flight may still finish; its outcome finds the tombstone. Returns how many.
   */
  async eraseRecipient(address: string): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE sent_email
         SET "to" = '', subject = '', body = '', claim_token = NULL,
             status = CASE WHEN status = 'SENT' THEN status ELSE 'FAILED'::email_status END,
             last_error = CASE WHEN status = 'SENT' THEN last_error ELSE 'erased on request' END
       WHERE "to" = ${address}`;
  }

  /** Deletes up to `limit` mails sent more than `retentionDays` ago, oldest first; returns how many. */
  async pruneSent(retentionDays: number, limit: number): Promise<number> {
    // = ANY(ARRAY(...)): the batch's ids first, then each deleted by its key, however large the table.
    return this.prisma.$executeRaw`
      DELETE FROM sent_email WHERE id = ANY(ARRAY(
        SELECT id FROM sent_email
         WHERE status = 'SENT' AND sent_at < now() - make_interval(days => ${retentionDays}::int)
         ORDER BY sent_at
         LIMIT ${limit}))`;
  }

  /** One outcome, under the claim's token: nothing changes if the mail was claimed again since. */
  private async settle(claim: Claim, set: string, ...values: unknown[]): Promise<boolean> {
    const count = await this.sql.$executeRawUnsafe(
      `UPDATE sent_email SET ${set}, claim_token = NULL WHERE id = $1::uuid AND claim_token = $2::uuid AND status = 'SENDING'`,
      claim.id,
      claim.claimToken,
      ...values,
    );
    return count === 1;
  }

  private async markWaitingSent(): Promise<void> {
    if (this.markingSent) return;
    this.markingSent = true;
    try {
      while (this.toMarkSent.length > 0) {
        const group = this.toMarkSent.splice(0, MARK_SENT_BATCH);
        try {
          const marked = await this.sql.$queryRawUnsafe<Array<{ id: string }>>(
            `UPDATE sent_email AS e SET status = 'SENT', sent_at = now(), last_error = NULL, claim_token = NULL
               FROM ${HELD_CLAIMS} AND e.status = 'SENDING'
             RETURNING e.id`,
            ...claimParameters(group.map(({ claim }) => claim)),
          );
          const ids = new Set(marked.map((row) => row.id));
          for (const { claim, settle } of group) settle(ids.has(claim.id));
        } catch (error) {
          for (const { settle } of group) settle(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.markingSent = false;
    }
  }
}
