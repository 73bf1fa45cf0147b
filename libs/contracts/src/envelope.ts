import { z } from 'zod';

/**
 * Every message, command or event, travels in this one envelope. The payload is typed by the
 * message definition named in `type` and `version`; the rest lets a reader follow a flow across
 * services (correlationId: the whole conversation; causationId: the message that caused this one).
 */
export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  source: z.string().min(1),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).nullable(),
  traceparent: z
    .string()
    .regex(/^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/, 'a W3C traceparent')
    .optional(),
  payload: z.unknown(),
});

export type Envelope<Payload = unknown> = Omit<z.infer<typeof envelopeSchema>, 'payload'> & {
  payload: Payload;
};
