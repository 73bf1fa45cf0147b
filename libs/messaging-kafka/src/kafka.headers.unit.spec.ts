import { describe, expect, it } from '@jest/globals';
import type { Envelope } from '@boxoffice/contracts';
import { envelopeHeaders, recordFailure, withFailure } from '@boxoffice/messaging';
import { readHeaders, withoutFailureHeaders } from './kafka.headers.js';

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

describe('readHeaders', () => {
  it('turns kafkajs buffers into strings, keeping the last of a repeated header', () => {
    expect(readHeaders({ a: Buffer.from('1'), b: [Buffer.from('x'), Buffer.from('y')], c: 'plain', d: undefined })).toEqual({
      a: '1',
      b: 'y',
      c: 'plain',
    });
  });
});

describe('a replayed record’s headers', () => {
  it('drop the failure record and where the record came from, and keep the envelope headers', () => {
    const failure = recordFailure({}, 'card service down', new Date('2026-01-01T00:00:05Z'));
    const headers = {
      ...withFailure(envelopeHeaders(envelope), failure, { source: 'boxoffice.orders', consumer: 'billing' }),
      'x-original-partition': '2',
      'x-original-offset': '41',
      'x-replayed-offset': '3',
    };
    expect(withoutFailureHeaders(headers)).toEqual(envelopeHeaders(envelope));
  });
});
