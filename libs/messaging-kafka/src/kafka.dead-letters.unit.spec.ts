import { describe, expect, it } from '@jest/globals';
import { toDeadLetter, trimOffsets, waitingRecords } from './kafka.dead-letters.js';
import type { TopicRecord } from './kafka.topic-reader.js';

function record(partition: number, offset: number, headers: Record<string, string> = {}): TopicRecord {
  return { partition, offset: String(offset), key: null, value: null, headers, timestamp: '0' };
}

const marker = (partition: number, offset: number, of: number) => record(partition, offset, { 'x-replayed-offset': String(of) });

describe('waitingRecords', () => {
  it('hides replay markers and the records they mark, in their own partition only', () => {
    const records = [record(0, 0), record(0, 1), marker(0, 2, 1), record(1, 1), marker(1, 2, 0)];
    expect(waitingRecords(records).map((r) => `${r.partition}@${r.offset}`)).toEqual(['0@0', '1@1']);
  });
});

describe('trimOffsets', () => {
  it('moves each partition’s start to its oldest waiting record, or past all it read', () => {
    const highWatermarks = new Map([
      [0, 10n],
      [1, 4n],
    ]);
    expect(trimOffsets(highWatermarks, [record(0, 7), record(0, 8)])).toEqual(
      new Map([
        [0, 7n],
        [1, 4n],
      ]),
    );
  });
});

describe('toDeadLetter', () => {
  it('reads the failure and the origin from the headers, and keeps the record as it was', () => {
    const letter = toDeadLetter(
      {
        ...record(0, 3, {
          'message-id': 'm-1',
          type: 'OrderConfirmed',
          'x-attempts': '5',
          'x-last-error': 'boom',
          'x-first-failure-at': '2026-01-01T00:00:00.000Z',
          'x-last-failure-at': '2026-01-01T00:00:05.000Z',
          'x-original-source': 'boxoffice.orders',
          'x-consumer': 'email',
          'x-original-partition': '2',
          'x-original-offset': '99',
        }),
        value: Buffer.from('{"id":"m-1"}'),
      },
      'boxoffice.orders.email.dlt',
    );
    expect(letter).toEqual({
      transport: 'kafka',
      store: 'boxoffice.orders.email.dlt',
      id: 'm-1',
      type: 'OrderConfirmed',
      attempts: 5,
      lastError: 'boom',
      firstFailureAt: '2026-01-01T00:00:00.000Z',
      lastFailureAt: '2026-01-01T00:00:05.000Z',
      originalSource: 'boxoffice.orders',
      consumer: 'email',
      body: '{"id":"m-1"}',
      position: 'partition 0 offset 3, from partition 2 offset 99',
    });
  });
});
