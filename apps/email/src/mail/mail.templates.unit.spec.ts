import { describe, expect, it } from '@jest/globals';
import { apologyMail, receiptMail, welcomeMail } from './mail.templates.js';

const order = {
  orderId: '0194f0c2-7f6e-7c3a-9d55-1a2b3c4d5e6f',
  concertId: '0194f0c2-7f6e-7c3a-9d55-000000000001',
  concertName: 'Night Shift',
  quantity: 2,
  customerEmail: 'ada@example.com',
};

describe('the mails', () => {
  it('welcome a new user by name', () => {
    const mail = welcomeMail({ userId: order.orderId, email: 'ada@example.com', name: 'Ada', ip: null, userAgent: null });
    expect(mail).toMatchObject({ kind: 'welcome', to: 'ada@example.com', subject: 'Welcome to boxoffice, Ada' });
  });

  it('give the buyer a receipt with the concert, the seats and the amount', () => {
    const mail = receiptMail({ ...order, amountCents: 9_005 });
    expect(mail).toMatchObject({ kind: 'receipt', to: 'ada@example.com', subject: 'Your tickets for Night Shift' });
    expect(mail.body).toContain('Concert:     Night Shift');
    expect(mail.body).toContain('Seats:       2');
    expect(mail.body).toContain('Amount paid: 90.05');
  });

  it('apologise to the buyer with the reason the order failed', () => {
    expect(apologyMail({ ...order, reason: 'SOLD_OUT' }).body).toContain('the concert sold out before your order could be filled');
    expect(apologyMail({ ...order, reason: 'PAYMENT_DECLINED' }).body).toContain('your payment was declined');
  });

  it('promise a refund, not "not charged", to a buyer whose order timed out', () => {
    const body = apologyMail({ ...order, reason: 'TIMED_OUT' }).body;
    expect(body).toContain('we could not confirm your payment in time');
    expect(body).toContain('refunded in full');
    expect(body).not.toContain('You have not been charged');
  });
});
