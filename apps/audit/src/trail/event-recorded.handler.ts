import type { Envelope } from '@boxoffice/contracts';
import type { BatchHandler, HandlerContext } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { auditEntryOf } from './audit-entry.js';
import { AuditLog } from './audit-log.js';

/** Any event on any topic: a batch of them written to the audit log with one INSERT, each once. */
@Injectable()
export class EventRecordedHandler implements BatchHandler<unknown, Tx> {
  constructor(private readonly log: AuditLog) {}

  async handleBatch(events: ReadonlyArray<Envelope>, { tx, source }: HandlerContext<Tx>): Promise<void> {
    // The envelope does not say which topic it came from; the batch does, and the log records it.
    await this.log.appendAll(
      tx,
      events.map((event) => auditEntryOf(source, event)),
    );
  }
}
