import { z } from 'zod';

export const placeOrderSchema = z.strictObject({
  concertId: z.uuid(),
  quantity: z.number().int().min(1).max(6),
  customerEmail: z.email().max(320),
});

export type PlaceOrder = z.infer<typeof placeOrderSchema>;

/** Any client-chosen string of reasonable length; a UUID is a good choice. */
export const idempotencyKeySchema = z.string({ error: 'the Idempotency-Key header is required' }).trim().min(8).max(200);

export const orderIdSchema = z.uuid();
