import { describe, expect, it } from '@jest/globals';
import type { Envelope } from '@boxoffice/contracts';
import { addressSettingsFor } from './activemq.topology.js';
import type { Message } from 'rhea-promise';
import { copyOf, headersOf, messageFor, messageIdOf, propertiesOf } from './activemq.message.js';

const envelope = {
  id: '0193a1a4-0000-7000-8000-000000000001',
  type: 'ChargeOrder',
  version: 1,
  occurredAt: '2026-12-01T10:00:00.000Z',
  correlationId: 'corr-1',
  causationId: null,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  payload: { orderId: 'o-1' },
} as unknown as Envelope;

describe('an envelope as an AMQP message', () => {
  it('carries its identity in the AMQP properties and its headers as application properties', () => {
    const message = messageFor(envelope, { 'x-source': 'checkout' });
    expect(message).toMatchObject({
      message_id: envelope.id,
      subject: 'ChargeOrder',
      correlation_id: 'corr-1',
      durable: true,
      content_type: 'application/json',
    });
    expect(message.application_properties).toEqual({ traceparent: envelope.traceparent, 'x-source': 'checkout' });
    expect(JSON.parse(String(message.body))).toEqual(envelope);
  });

  it('keeps identity and body in a copy, with only the properties given', () => {
    const copy = copyOf(
      { ...messageFor(envelope, { a: '1' }), delivery_count: 2, message_annotations: { 'x-opt-ORIG-QUEUE': 'q' } },
      { b: '2' },
    );
    expect(copy.application_properties).toEqual({ b: '2' });
    expect(copy.delivery_count).toBeUndefined();
    expect(copy.message_annotations).toBeUndefined();
    expect(messageIdOf(copy)).toBe(envelope.id);
  });
});

describe('a delivery as the pipeline reads it', () => {
  it('has the broker delivery count as its attempts, whatever x-attempts it carried', () => {
    const delivered = { ...messageFor(envelope, { 'x-attempts': '7', 'x-last-error': 'boom' }), delivery_count: 2 };
    expect(headersOf(delivered)).toMatchObject({ 'x-attempts': '2', 'x-last-error': 'boom' });
  });

  it('has no attempts on a first delivery', () => {
    expect(headersOf({ ...messageFor(envelope, { 'x-attempts': '3' }), delivery_count: 0 })).not.toHaveProperty('x-attempts');
  });

  it('reads numbers, booleans and bytes as strings and drops the rest', () => {
    expect(
      propertiesOf({ application_properties: { n: 1, b: true, s: 's', buf: Buffer.from('x'), o: { a: 1 } } } as unknown as Message),
    ).toEqual({ n: '1', b: 'true', s: 's', buf: 'x' });
  });

  it('takes the id from the body when the message has none', () => {
    expect(messageIdOf({ body: Buffer.from(JSON.stringify({ id: 'from-body' })) } as unknown as Message)).toBe('from-body');
    expect(messageIdOf({ body: Buffer.from('not json') } as unknown as Message)).toBeNull();
  });
});

describe('a retry policy as address settings', () => {
  it('gives the broker the nominal delays, the attempts and the queue of its own dead letters', () => {
    expect(
      addressSettingsFor('billing.charge-order', { maxAttempts: 5, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 30_000, jitter: 0.2 }),
    ).toMatchObject({
      deadLetterAddress: 'billing.charge-order.dlq',
      maxDeliveryAttempts: 5,
      redeliveryDelay: 1_000,
      redeliveryMultiplier: 2,
      maxRedeliveryDelay: 30_000,
      autoCreateDeadLetterResources: false,
    });
  });
});
