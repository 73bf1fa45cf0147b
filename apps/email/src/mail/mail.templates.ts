import type { OrderConfirmed, OrderRejected, PayloadOf, UserRegistered } from '@boxoffice/contracts';
import type { Mail } from './mail.js';

// Pure functions from an event to a mail: everything a mail says is in the event, so the same
// event always makes the same mail, and a resend sends exactly what was recorded.

export function welcomeMail(user: PayloadOf<typeof UserRegistered>): Mail {
  return {
    kind: 'welcome',
    to: user.email,
    subject: `Welcome to boxoffice, ${user.name}`,
    body: [`Hello ${user.name},`, '', 'your boxoffice account is ready. See you at a concert soon!', '', '- boxoffice'].join('\n'),
  };
}

export function receiptMail(order: PayloadOf<typeof OrderConfirmed>): Mail {
  return {
    kind: 'receipt',
    to: order.customerEmail,
    subject: `Your tickets for ${order.concertName}`,
    body: [
      'Thank you for your order.',
      '',
      `Concert:     ${order.concertName}`,
      `Seats:       ${order.quantity}`,
      `Amount paid: ${formatCents(order.amountCents)}`,
      `Order:       ${order.orderId}`,
      '',
      '- boxoffice',
    ].join('\n'),
  };
}

const reasons: Record<PayloadOf<typeof OrderRejected>['reason'], string> = {
  SOLD_OUT: 'the concert sold out before your order could be filled',
  PAYMENT_DECLINED: 'your payment was declined',
  TIMED_OUT: 'we could not confirm your payment in time',
};

export function apologyMail(order: PayloadOf<typeof OrderRejected>): Mail {
  return {
    kind: 'apology',
    to: order.customerEmail,
    subject: `Sorry, your order for ${order.concertName} did not go through`,
    body: [
      `We are sorry: ${reasons[order.reason]}.`,
      // A payment captured after the deadline is refunded (docs/patterns/eventual-consistency.md).
      order.reason === 'TIMED_OUT' ? 'If any amount was taken for it, it will be refunded in full.' : 'You have not been charged.',
      '',
      `Concert: ${order.concertName}`,
      `Seats:   ${order.quantity}`,
      `Order:   ${order.orderId}`,
      '',
      '- boxoffice',
    ].join('\n'),
  };
}

function formatCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}
