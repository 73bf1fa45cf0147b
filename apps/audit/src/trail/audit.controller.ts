import { ZodValidationPipe } from '@boxoffice/platform';
import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
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

/** The actors of one person: their user id (sign-ups) and their email (orders). */
const erasure = z.strictObject({ actors: z.array(z.string().min(1).max(320)).min(1).max(10) });

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

  /**
   * A person's request to be forgotten: their entries lose actor and ip, and the hash chain stays
   * intact (AuditLog.erase). Email erases their mails (DELETE /emails?to=).
   */
  @Post('erasures')
  @HttpCode(200)
  async erase(@Body(new ZodValidationPipe(erasure)) body: z.infer<typeof erasure>) {
    return { erased: await this.log.erase(body.actors) };
  }
}
