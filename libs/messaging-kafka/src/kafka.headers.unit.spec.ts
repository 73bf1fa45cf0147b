import { describe, expect, it } from '@jest/globals';
import { recordFailure, withFailure } from '@boxoffice/messaging';
import { readHeaders, withoutFailureHeaders } from './kafka.headers.js';

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
  it('drop the failure record and where the record came from, and keep the others', () => {
    const carried = { 'message-id': 'm-1', type: 'OrderConfirmed', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const failure = recordFailure({}, 'card service down', new Date('2026-01-01T00:00:05Z'));
    const headers = {
      ...withFailure(carried, failure, { source: 'boxoffice.orders', consumer: 'billing' }),
      'x-original-partition': '2',
      'x-original-offset': '41',
      'x-replayed-offset': '3',
    };
    expect(withoutFailureHeaders(headers)).toEqual(carried);
  });
});
