import { z } from 'zod';
import { defineMessage } from './message-definition.js';

// Commands are imperative and travel through RabbitMQ queues: exactly one consumer does the job.
// Events are in the past tense and travel through Kafka topics: every subscriber gets a copy.

const money = z.number().int().nonnegative().describe('an amount in cents');
const email = z.email();

export const ConcertScheduled = defineMessage({
  type: 'ConcertScheduled',
  version: 1,
  kind: 'event',
  description: 'Checkout scheduled a concert; Billing builds its seat inventory from it.',
  schema: z.object({
    concertId: z.uuid(),
    name: z.string().min(1),
    startsAt: z.iso.datetime({ offset: true }),
    capacity: z.number().int().positive(),
    priceCents: money,
  }),
});

export const ChargeOrder = defineMessage({
  type: 'ChargeOrder',
  version: 1,
  kind: 'command',
  description: 'Reserve the seats of an order and charge the customer for them.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    quantity: z.number().int().min(1).max(6),
    customerEmail: email,
    chargeBy: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        'the instant by which Billing must have charged the order; past it Billing declines it (ChargeTimedOut) and takes no money. Absent in commands sent before the field existed: Billing then counts its default from occurredAt',
      ),
  }),
});

export const RefundPayment = defineMessage({
  type: 'RefundPayment',
  version: 1,
  kind: 'command',
  description:
    'Give back a captured payment whose order Checkout had settled otherwise before the capture reached it (timed out): release its seats and return the money.',
  schema: z.object({
    orderId: z.uuid(),
    paymentId: z.uuid(),
    amountCents: money,
    reason: z.enum(['TIMED_OUT']),
  }),
});

export const PaymentCaptured = defineMessage({
  type: 'PaymentCaptured',
  version: 1,
  kind: 'event',
  description: 'Billing reserved the seats and captured the payment of an order.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    quantity: z.number().int().positive(),
    amountCents: money,
    paymentId: z.uuid(),
  }),
});

export const PaymentDeclined = defineMessage({
  type: 'PaymentDeclined',
  version: 1,
  kind: 'event',
  description: 'The payment provider declined the charge of an order; no seats are held.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    amountCents: money,
    reason: z.string(),
  }),
});

export const ChargeTimedOut = defineMessage({
  type: 'ChargeTimedOut',
  version: 1,
  kind: 'event',
  description:
    'Billing did not charge an order because its chargeBy passed first (it waited in the queue, or for its concert); no seats are held, no money taken.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    chargeBy: z.iso.datetime({ offset: true }),
  }),
});

export const PaymentRefunded = defineMessage({
  type: 'PaymentRefunded',
  version: 1,
  kind: 'event',
  description: 'Billing gave back a captured payment (RefundPayment) and released its seats.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    quantity: z.number().int().positive(),
    amountCents: money,
    paymentId: z.uuid(),
    reason: z.enum(['TIMED_OUT']),
  }),
});

export const SeatsUnavailable = defineMessage({
  type: 'SeatsUnavailable',
  version: 1,
  kind: 'event',
  description: 'An order asked for more seats than the concert has left.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    requested: z.number().int().positive(),
    remaining: z.number().int().nonnegative(),
  }),
});

export const OrderConfirmed = defineMessage({
  type: 'OrderConfirmed',
  version: 1,
  kind: 'event',
  description: 'An order is paid and its seats are the customer’s.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    concertName: z.string(),
    quantity: z.number().int().positive(),
    amountCents: money,
    customerEmail: email,
  }),
});

export const OrderRejected = defineMessage({
  type: 'OrderRejected',
  version: 1,
  kind: 'event',
  description: 'An order could not be fulfilled.',
  schema: z.object({
    orderId: z.uuid(),
    concertId: z.uuid(),
    concertName: z.string(),
    quantity: z.number().int().positive(),
    customerEmail: email,
    reason: z.enum(['SOLD_OUT', 'PAYMENT_DECLINED', 'TIMED_OUT']),
  }),
});

export const UserRegistered = defineMessage({
  type: 'UserRegistered',
  version: 1,
  kind: 'event',
  description: 'Somebody signed up.',
  schema: z.object({
    userId: z.uuid(),
    email,
    name: z.string().min(1),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
  }),
});

export const allMessages = [
  ConcertScheduled,
  ChargeOrder,
  RefundPayment,
  PaymentCaptured,
  PaymentDeclined,
  ChargeTimedOut,
  PaymentRefunded,
  SeatsUnavailable,
  OrderConfirmed,
  OrderRejected,
  UserRegistered,
] as const;
