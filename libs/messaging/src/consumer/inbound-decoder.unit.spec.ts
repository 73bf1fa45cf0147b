import { describe, expect, it } from '@jest/globals';
import { ChargeOrder, PaymentCaptured } from '@boxoffice/contracts';
import { EnvelopeFactory } from '../envelope.factory.js';
import { decodeInbound } from './inbound-decoder.js';

const clock = { now: () => new Date('2026-11-27T10:00:00.000Z') };
let counter = 0;
const envelopes = new EnvelopeFactory('checkout', clock, () => `0190f0a0-0000-7000-8000-${String(++counter).padStart(12, '0')}`);
const payload = {
  orderId: '0190f0a0-0000-7000-8000-00000000aaaa',
  concertId: '0190f0a0-0000-7000-8000-00000000bbbb',
  quantity: 2,
  customerEmail: 'ada@example.com',
};

describe('EnvelopeFactory', () => {
  it('stamps id, type, version, time and source, and starts a conversation', () => {
    const envelope = envelopes.create(ChargeOrder, payload);
    expect(envelope).toMatchObject({
      type: 'ChargeOrder',
      version: 1,
      source: 'checkout',
      occurredAt: '2026-11-27T10:00:00.000Z',
      causationId: null,
      payload,
    });
    expect(envelope.correlationId).toBe(envelope.id);
  });

  it('carries the correlation and trace of the message that caused it', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const cause = envelopes.create(ChargeOrder, payload, { traceparent });
    const effect = envelopes.create(PaymentCaptured, { ...payload, amountCents: 100, paymentId: payload.orderId }, { causedBy: cause });
    expect(effect).toMatchObject({ correlationId: cause.correlationId, causationId: cause.id, traceparent });
  });

  it('refuses a payload that breaks the contract', () => {
    expect(() => envelopes.create(ChargeOrder, { ...payload, quantity: 7 })).toThrow();
  });
});

describe('decodeInbound', () => {
  const raw = (value: unknown) => Buffer.from(JSON.stringify(value));

  it('accepts a valid message of an accepted type', () => {
    const envelope = envelopes.create(ChargeOrder, payload);
    expect(decodeInbound(raw(envelope), [ChargeOrder])).toEqual({ ok: true, envelope, definition: ChargeOrder });
  });

  describe('when the message is poison', () => {
    it('says it is not JSON', () => {
      expect(decodeInbound(Buffer.from('{nope'), [ChargeOrder])).toMatchObject({
        ok: false,
        error: expect.stringMatching(/^not JSON/),
        messageId: null,
      });
    });

    it('names the broken envelope field', () => {
      const { id, ...withoutId } = envelopes.create(ChargeOrder, payload);
      expect(id).toBeDefined();
      expect(decodeInbound(raw(withoutId), [ChargeOrder])).toMatchObject({
        ok: false,
        error: expect.stringMatching(/invalid envelope: id:/),
      });
    });

    it('names the broken payload field and keeps the message id', () => {
      const envelope = { ...envelopes.create(ChargeOrder, payload), payload: { ...payload, quantity: 0 } };
      expect(decodeInbound(raw(envelope), [ChargeOrder])).toEqual({
        ok: false,
        error: expect.stringMatching(/invalid ChargeOrder v1 payload: quantity:/),
        messageId: envelope.id,
      });
    });

    it('refuses a type the subscription does not accept', () => {
      const envelope = envelopes.create(ChargeOrder, payload);
      expect(decodeInbound(raw(envelope), [PaymentCaptured])).toMatchObject({
        ok: false,
        error: 'unexpected message ChargeOrder v1',
        notSubscribed: true,
      });
    });
  });
});
