import { MessageSender } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import type { ChargeStatus } from '../generated/prisma/client.js';
import { ChargeService, UnknownConcertError, type ChargeJob } from './charge.service.js';
import { ChargeSweeper } from './charge.sweeper.js';

/** Synchronous charges in one transaction at most: the seat rows stay locked while it runs. */
const MAX_BATCH = 100;

interface Waiting {
  readonly job: ChargeJob;
  readonly resolve: (status: ChargeStatus) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for POST /charges. A charge locks its concert's seat row from its first statement
 * to its commit, and every purchase of a concert needs that row: with a transaction per caller,
 * each caller waited for all those before it, round trip after round trip, and the synchronous
 * path took some sixty charges a second where Billing allows hundreds. Here the charges that
 * arrive while one transaction runs go together in the next: the same `chargeAll` as a batch of
 * the work queue, the seat rows locked once for all of them, one commit.
 *
 * A batch is all or nothing, as the queue's are: a transaction that fails fails each of its
 * callers, and each may try again with its Idempotency-Key (a charge is made once per order).
 */
@Injectable()
export class SyncChargeBatches {
  private readonly waiting: Waiting[] = [];
  private writing = false;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly charges: ChargeService,
    private readonly messages: MessageSender,
    private readonly sweeper: ChargeSweeper,
  ) {}

  /** Resolves once the charge is committed, with its status; rejects with UnknownConcertError for a concert not known yet. */
  charge(job: ChargeJob): Promise<ChargeStatus> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.writeWhileWaiting();
    });
  }

  /** One transaction at a time: two would only wait for each other on the seat rows. */
  private writeWhileWaiting(): void {
    if (this.writing || this.waiting.length === 0) return;
    this.writing = true;
    const batch = this.waiting.splice(0, MAX_BATCH);
    void this.write(batch).finally(() => {
      this.writing = false;
      this.writeWhileWaiting();
    });
  }

  private async write(batch: Waiting[]): Promise<void> {
    try {
      const results = await this.prisma.$transaction(
        (tx) =>
          this.charges.chargeAll(
            tx,
            batch.map(({ job }) => job),
            (definition, payload, options) => this.messages.send(tx, definition, payload, options),
          ),
        { timeout: 30_000 },
      );
      this.sweeper.wake();
      batch.forEach(({ job, resolve, reject }, i) => {
        const status = results[i];
        if (status === null) reject(new UnknownConcertError(job.request.concertId));
        else resolve(status);
      });
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }
}
