import { describe, expect, it } from '@jest/globals';
import type { Message } from '@aws-sdk/client-sqs';
import { FailureHeaders } from '@boxoffice/messaging';
import { chunk, groupIdOf, HEADERS_ATTRIBUTE, inboundOf, packHeaders, unpackHeaders, visibilitySecondsOf } from './sqs.message.js';

const received = (attributes: Record<string, string>, headers: Record<string, string> = { 'message-id': 'm1' }): Message => ({
  MessageId: 'sqs-1',
  Body: '{"id":"m1"}',
  Attributes: attributes,
  MessageAttributes: packHeaders(headers),
});

describe('headers', () => {
  it('travel as one attribute, however many there are (SQS allows 10 attributes)', () => {
    const headers = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`h${i}`, `v${i}`]));
    const packed = packHeaders(headers);
    expect(Object.keys(packed)).toEqual([HEADERS_ATTRIBUTE]);
    expect(unpackHeaders({ MessageAttributes: packed })).toEqual(headers);
  });

  it('read as none from a message someone sent by hand, or with a broken attribute', () => {
    expect(unpackHeaders({})).toEqual({});
    expect(unpackHeaders({ MessageAttributes: { [HEADERS_ATTRIBUTE]: { DataType: 'String', StringValue: 'not json' } } })).toEqual({});
  });
});

describe('a received message as the pipeline reads it', () => {
  it('is a first attempt on its first receive', () => {
    const inbound = inboundOf(received({ ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '1700000000000' }));
    expect(inbound.headers[FailureHeaders.attempts]).toBeUndefined();
    expect(inbound.body).toBe('{"id":"m1"}');
  });

  it('counts the earlier receives as attempts, the first failing soon after the first receive', () => {
    const inbound = inboundOf(received({ ApproximateReceiveCount: '3', ApproximateFirstReceiveTimestamp: '1700000000000' }));
    expect(inbound.headers).toMatchObject({
      [FailureHeaders.attempts]: '2',
      [FailureHeaders.firstFailureAt]: '2023-11-14T22:13:20.000Z',
      'message-id': 'm1',
    });
  });

  it('does not count the receives spent held behind an earlier message of its key', () => {
    expect(inboundOf(received({ ApproximateReceiveCount: '3' }), 2).headers[FailureHeaders.attempts]).toBeUndefined();
    expect(inboundOf(received({ ApproximateReceiveCount: '4' }), 2).headers[FailureHeaders.attempts]).toBe('1');
  });

  it('ignores an attempts header it carries: SQS counts the receives', () => {
    const inbound = inboundOf(received({ ApproximateReceiveCount: '1' }, { [FailureHeaders.attempts]: '4' }));
    expect(inbound.headers[FailureHeaders.attempts]).toBeUndefined();
  });
});

describe('batches for SendMessageBatch', () => {
  it('hold at most ten messages', () => {
    expect(
      chunk(
        Array.from({ length: 25 }, (_, i) => i),
        () => 1,
      ).map((part) => part.length),
    ).toEqual([10, 10, 5]);
  });

  it('hold at most 256 KB together, in order', () => {
    const sizes = [100_000, 100_000, 100_000, 10];
    expect(chunk(sizes, (size) => size)).toEqual([
      [100_000, 100_000],
      [100_000, 10],
    ]);
  });

  it('refuse a message that is over 256 KB by itself', () => {
    expect(() => chunk([300_000], (size) => size)).toThrow(/over SQS's limit/);
  });
});

describe('message groups', () => {
  it('are the key itself where SQS allows it, else a hash of it', () => {
    expect(groupIdOf('order-42')).toBe('order-42');
    expect(groupIdOf('a key with spaces')).toMatch(/^[0-9a-f]{64}$/);
    expect(groupIdOf('')).toBe(groupIdOf(''));
    expect(groupIdOf('x'.repeat(129))).toHaveLength(64);
  });
});

describe('the visibility timeout of a retry', () => {
  it('is the delay rounded up to whole seconds, within 0 and 12 hours', () => {
    expect(visibilitySecondsOf(100)).toBe(1);
    expect(visibilitySecondsOf(2_000)).toBe(2);
    expect(visibilitySecondsOf(-5)).toBe(0);
    expect(visibilitySecondsOf(24 * 3600 * 1000)).toBe(43_200);
  });
});
