import { describe, expect, it } from '@jest/globals';
import type { Message } from 'amqplib';
import type { Envelope } from '@boxoffice/contracts';
import { FailureHeaders as H, readFailure, withoutFailure } from '@boxoffice/messaging';
import { copyOptionsOf, headersOf, lastDeathOf, publishOptionsFor } from './rabbitmq.message.js';

const envelope: Envelope = {
  id: '0190f5c4-6d7a-7cc1-8d6e-3c1f2a9b4e01',
  type: 'ChargeOrder',
  version: 1,
  occurredAt: '2026-03-01T10:00:00.750Z',
  source: 'checkout',
  correlationId: 'corr-1',
  causationId: null,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  payload: {},
};

describe('message properties', () => {
  it('repeat the envelope’s identity where RabbitMQ tools show it, persistent, as JSON', () => {
    expect(publishOptionsFor(envelope, { 'x-note': 'n' })).toEqual({
      persistent: true,
      contentType: 'application/json',
      messageId: envelope.id,
      type: 'ChargeOrder',
      correlationId: 'corr-1',
      timestamp: Date.parse('2026-03-01T10:00:00Z') / 1_000,
      headers: { traceparent: envelope.traceparent, 'x-note': 'n' },
    });
  });

  it('of a copy keep the identity and take new headers, without any expiration', () => {
    const delivered = {
      content: Buffer.from('{}'),
      fields: {},
      properties: {
        messageId: 'm',
        type: 'T',
        correlationId: 'c',
        timestamp: 7,
        contentType: 'application/json',
        expiration: '100',
        headers: {},
      },
    } as unknown as Message;
    expect(copyOptionsOf(delivered, { a: '1' })).toEqual({
      persistent: true,
      contentType: 'application/json',
      messageId: 'm',
      type: 'T',
      correlationId: 'c',
      timestamp: 7,
      headers: { a: '1' },
    });
  });
});

describe('the headers of a delivery', () => {
  const delivered = (headers: Record<string, unknown> | undefined) => ({ properties: { headers } }) as unknown as Message;

  it('are read as strings for the failure record, numbers and strings given as bytes included', () => {
    const headers = headersOf(
      delivered({ [H.attempts]: 2, [H.lastError]: Buffer.from('boom'), [H.firstFailureAt]: 'a', [H.lastFailureAt]: 'b' }),
    );
    expect(readFailure(headers)).toEqual({ attempts: 2, lastError: 'boom', firstFailureAt: 'a', lastFailureAt: 'b' });
  });

  it('read as no failures on a first delivery', () => {
    expect(readFailure(headersOf(delivered(undefined))).attempts).toBeUndefined();
  });

  it("leave out the broker's dead-lettering history, and a replay drops the failure record too", () => {
    const failures = Object.fromEntries(Object.values(H).map((name) => [name, 'x']));
    const headers = headersOf(delivered({ ...failures, 'x-death': [], 'x-first-death-queue': 'q', traceparent: 't' }));
    expect(withoutFailure(headers)).toEqual({ traceparent: 't' });
  });

  it("leave out a quorum queue's delivery counts, which belong to the queue that counted them", () => {
    expect(headersOf(delivered({ 'x-delivery-count': 3, 'x-acquired-count': 4, traceparent: 't' }))).toEqual({ traceparent: 't' });
  });
});

describe("RabbitMQ's last dead-lettering of a message", () => {
  const delivered = (headers: Record<string, unknown> | undefined) => ({ properties: { headers } }) as unknown as Message;

  it('is the first entry of x-death, the most recent, with its queue, reason and time', () => {
    const message = delivered({
      'x-death': [
        { count: 1, reason: 'delivery_limit', queue: 'billing.charge-order', time: { '!': 'timestamp', value: 1_772_359_200 } },
        { count: 2, reason: Buffer.from('expired'), queue: 'billing.charge-order.retry.1', time: new Date(0) },
      ],
      'x-first-death-reason': 'expired',
    });
    expect(lastDeathOf(message)).toEqual({ queue: 'billing.charge-order', reason: 'delivery_limit', at: '2026-03-01T10:00:00.000Z' });
  });

  it('is none for a message the broker never dead-lettered', () => {
    expect(lastDeathOf(delivered({ [H.attempts]: 5 }))).toBeNull();
    expect(lastDeathOf(delivered(undefined))).toBeNull();
  });
});
