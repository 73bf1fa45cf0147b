import type { Envelope } from '@boxoffice/contracts';
import type { BatchHandler, HandlerContext } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { ProjectionFold } from './projection.fold.js';
import { addToProjections } from './projection.store.js';

/** A batch of events, folded in memory and added to the projections with one upsert per table. */
@Injectable()
export class ProjectionsHandler implements BatchHandler<unknown, Tx> {
  async handleBatch(events: ReadonlyArray<Envelope>, { tx }: HandlerContext<Tx>): Promise<void> {
    const fold = new ProjectionFold();
    for (const event of events) fold.add(event);
    await addToProjections(tx, fold);
  }
}
