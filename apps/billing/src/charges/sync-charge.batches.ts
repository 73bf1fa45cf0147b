import { GroupCommit } from '@boxoffice/database';
import { MessageSender } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { ChargeStatus } from '../generated/prisma/client.js';
import { ChargeService, UnknownConcertError, type ChargeJob, type ChargeResult } from './charge.service.js';
import { ChargeSweeper } from './charge.sweeper.js';

/** Synchronous charges in one transaction at most: the seat rows stay locked while it runs. */
const MAX_BATCH = 100;

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
  /** One transaction at a time: two would only wait for each other on the seat rows. */
  private readonly batches = new GroupCommit<ChargeJob, ChargeResult>((jobs) => this.write(jobs), {
    maxBatch: MAX_BATCH,
    maxInFlight: 1,
  });

  constructor(
    @Inject(SQL) private readonly sql: Sql,
    private readonly charges: ChargeService,
    private readonly messages: MessageSender,
    private readonly sweeper: ChargeSweeper,
  ) {}

  /** Resolves once the charge is committed, with its status; rejects with UnknownConcertError for a concert not known yet. */
  async charge(job: ChargeJob): Promise<ChargeStatus> {
    const status = await this.batches.submit(job);
    if (status === null) throw new UnknownConcertError(job.request.concertId);
    return status;
  }

  private async write(jobs: ReadonlyArray<ChargeJob>): Promise<ChargeResult[]> {
    const results = await this.sql.$transaction(
      (tx) => this.charges.chargeAll(tx, jobs, (definition, payload, options) => this.messages.send(tx, definition, payload, options)),
      { timeout: 30_000 },
    );
    this.sweeper.wake();
    return results;
  }
}
