import { describe, expect, it } from '@jest/globals';
import { OrderConfirmed, OrderRejected, PaymentCaptured, PaymentDeclined, UserRegistered } from '@boxoffice/contracts';
import { EnvelopeFactory } from '@boxoffice/messaging';
import { ProjectionFold } from './projection.fold.js';

const at = (iso: string) => new EnvelopeFactory('checkout', { now: () => new Date(iso) });
const concertId = '0190f5c4-6d7a-7cc1-8d6e-3c1f2a9b4e01';
const order = { concertId, concertName: 'Night Shift', customerEmail: 'ada@example.com' };
const id = (n: number) => `0190f5c4-6d7a-7cc1-8d6e-3c1f2a9b4e${String(n).padStart(2, '0')}`;

describe('the projection fold', () => {
  it('counts each event on the day it happened, per day and per concert', () => {
    const fold = new ProjectionFold();
    fold.add(
      at('2026-11-20T23:59:59Z').create(UserRegistered, { userId: id(1), email: 'a@example.com', name: 'A', ip: null, userAgent: null }),
    );
    fold.add(
      at('2026-11-21T00:00:00Z').create(UserRegistered, { userId: id(2), email: 'b@example.com', name: 'B', ip: null, userAgent: null }),
    );
    fold.add(at('2026-11-21T10:00:00Z').create(OrderConfirmed, { ...order, orderId: id(3), quantity: 2, amountCents: 9_000 }));
    fold.add(at('2026-11-21T11:00:00Z').create(PaymentDeclined, { orderId: id(4), concertId, amountCents: 4_500, reason: 'no' }));
    fold.add(at('2026-11-21T11:00:00Z').create(OrderRejected, { ...order, orderId: id(4), quantity: 1, reason: 'PAYMENT_DECLINED' }));

    expect(fold.rows()).toEqual({
      signups: [
        { day: '2026-11-20', signups: 1 },
        { day: '2026-11-21', signups: 1 },
      ],
      sales: [{ day: '2026-11-21', tickets: 2, revenueCents: 9_000, confirmed: 1, rejected: 1, declined: 1 }],
      concerts: [{ concertId, concertName: 'Night Shift', tickets: 2, revenueCents: 9_000, confirmed: 1, rejected: 1 }],
    });
  });

  it('passes over events it does not count', () => {
    const fold = new ProjectionFold();
    fold.add(
      at('2026-11-21T10:00:00Z').create(PaymentCaptured, { orderId: id(5), concertId, quantity: 1, amountCents: 1, paymentId: id(6) }),
    );
    expect(fold.isEmpty).toBe(true);
  });
});
