import { z } from 'zod';

export const scheduleConcertSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  startsAt: z.iso.datetime({ offset: true }),
  capacity: z.number().int().min(1).max(1_000_000),
  priceCents: z.number().int().min(0).max(10_000_000),
});

export type ScheduleConcert = z.infer<typeof scheduleConcertSchema>;
