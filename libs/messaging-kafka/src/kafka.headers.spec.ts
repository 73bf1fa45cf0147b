import { describe, expect, it } from '@jest/globals';
import type { Envelope } from '@boxoffice/contracts';
import { DeadLetterHeaders, recordFailure } from '@boxoffice/messaging';
import { deadLetterHeaders, envelopeHeaders, failureOf, readHeaders, withoutFailureHeaders } from './kafka.headers.js';

const envelope: Envelope = {
  id: '0190a5f0-0000-7000-8000-000000000001',
  type: 'OrderConfirmed',
  version: 1,
  occurredAt: '2026-01-01T00:00:00.000Z',
  source: 'checkout',
  correlationId: 'corr-1',
  causationId: null,
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  payload: {},
};

describe('envelopeHeaders', () => {
  it('copies id, type, version, correlation id and trace context from the envelope', () => {
    expect(envelopeHeaders(envelope)).toEqual({
      'message-id': envelope.id,
      type: 'OrderConfirmed',
      version: '1',
      'correlation-id': 'corr-1',
      traceparent: envelope.traceparent,
    });
  });

  it('adds the extra headers on top', () => {
    expect(envelopeHeaders(envelope, { 'x-tenant': 'a' })).toMatchObject({ 'message-id': envelope.id, 'x-tenant': 'a' });
  });
});

describe('readHeaders', () => {
  it('turns kafkajs buffers into strings, keeping the last of a repeated header', () => {
    expect(readHeaders({ a: Buffer.from('1'), b: [Buffer.from('x'), Buffer.from('y')], c: 'plain', d: undefined })).toEqual({ a: '1', b: 'y', c: 'plain' });
  });
});

describe('a dead letter’s headers', () => {
  const failure = recordFailure(recordFailure({}, 'first', new Date('2026-01-01T00:00:00Z')), 'card service down', new Date('2026-01-01T00:00:05Z'));
  const origin = { topic: 'boxoffice.orders', partition: 2, offset: '41', groupId: 'billing' };

  it('keep the original headers and add the failure and where the record came from', () => {
    expect(deadLetterHeaders(envelopeHeaders(envelope), failure, origin, envelope.id)).toEqual({
      ...envelopeHeaders(envelope),
      'x-attempts': '2',
      'x-last-error': 'card service down',
      'x-first-failure-at': '2026-01-01T00:00:00.000Z',
      'x-last-failure-at': '2026-01-01T00:00:05.000Z',
      'x-original-source': 'boxoffice.orders',
      'x-consumer': 'billing',
      'x-original-partition': '2',
      'x-original-offset': '41',
    });
  });

  it('name the message of a poison record that arrived without an id header', () => {
    expect(deadLetterHeaders({}, failure, origin, 'id-from-the-body')['message-id']).toBe('id-from-the-body');
  });

  it('read back as the failure record they were written from', () => {
    expect(failureOf(deadLetterHeaders({}, failure, origin, null))).toEqual(failure);
  });

  it('are all dropped when the record is replayed, and the envelope headers kept', () => {
    const headers = { ...deadLetterHeaders(envelopeHeaders(envelope), failure, origin, null), 'x-replayed-offset': '3' };
    expect(withoutFailureHeaders(headers)).toEqual(envelopeHeaders(envelope));
  });
});

describe('failureOf', () => {
  it('reads nothing from a record that never failed', () => {
    expect(failureOf({ 'message-id': 'x', [DeadLetterHeaders.attempts]: 'zero' })).toEqual({});
  });
});
