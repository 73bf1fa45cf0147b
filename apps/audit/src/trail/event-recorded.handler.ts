import type { Envelope } from '@boxoffice/contracts';
import { Outcome, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { auditEntryOf } from './audit-entry.js';
import { AuditLog } from './audit-log.js';

/** Any event on any topic: write it to the audit log, once. */
@Injectable()
export class EventRecordedHandler {
  constructor(private readonly log: AuditLog) {}

  /** The handler for one topic. The envelope does not say which topic it came from, and the log records it. */
  forTopic(topic: string): MessageHandler {
    return { handle: (event) => this.record(topic, event) };
  }

  private async record(topic: string, event: Envelope): Promise<HandlerOutcome> {
    await this.log.append(auditEntryOf(topic, event));
    return Outcome.done();
  }
}
