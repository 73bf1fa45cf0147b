import { ZodValidationPipe } from '@boxoffice/platform';
import { Controller, Get, Query } from '@nestjs/common';
import { z } from 'zod';
import { AuditLog } from './audit-log.js';

const auditQuery = z.strictObject({
  type: z.string().min(1).max(100).optional(),
  actor: z.string().min(1).max(320).optional(),
  since: z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'a nextCursor from a previous page')
    .transform(BigInt)
    .optional(),
});

@Controller('audit')
export class AuditController {
  constructor(private readonly log: AuditLog) {}

  /** The log, oldest first, filtered by type, actor and time; follow `nextCursor` for the next page. */
  @Get()
  async find(@Query(new ZodValidationPipe(auditQuery, 'query')) query: z.infer<typeof auditQuery>) {
    const { entries, nextCursor } = await this.log.find(query);
    return {
      entries: entries.map((entry) => ({
        position: entry.position.toString(),
        eventId: entry.eventId,
        type: entry.type,
        topic: entry.topic,
        actor: entry.actor,
        ip: entry.ip,
        occurredAt: entry.occurredAt.toISOString(),
        recordedAt: entry.recordedAt.toISOString(),
        payloadHash: entry.payloadHash,
      })),
      nextCursor: nextCursor?.toString() ?? null,
    };
  }
}
