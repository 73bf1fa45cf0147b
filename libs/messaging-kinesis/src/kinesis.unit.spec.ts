import { describe, expect, it } from '@jest/globals';
import { settledPrefix, type Settlement } from '@boxoffice/messaging';
import { waitingRecords } from './kinesis.dead-letters.js';
import { decodeFrame, encodeFrame } from './kinesis.framing.js';
import { planLeases, type LeaseView } from './kinesis.leases.js';
import { chunks, PUT_RECORDS_MAX_BYTES } from './kinesis.publisher.js';
import type { StreamRecord } from './kinesis.stream-reader.js';
import { deadLetterStreamOf, streamOf } from './kinesis.streams.js';

describe('a record frame', () => {
  it('carries the headers beside the body, and gives both back', () => {
    const body = JSON.stringify({ id: 'm1', payload: { text: 'a "quoted"\nline' } });
    expect(decodeFrame(encodeFrame({ 'message-id': 'm1', 'x-attempts': '2' }, body))).toEqual({
      body,
      headers: { 'message-id': 'm1', 'x-attempts': '2' },
    });
  });

  it('takes what is not a frame as a body with no headers, for the decoder to judge', () => {
    expect(decodeFrame(Buffer.from('{"id":"m1","type":"T"}'))).toEqual({ body: '{"id":"m1","type":"T"}', headers: {} });
    expect(decodeFrame(Buffer.from('not json'))).toEqual({ body: 'not json', headers: {} });
    expect(decodeFrame(Buffer.from('{"headers":{"a":1},"body":"x"}'))).toEqual({ body: '{"headers":{"a":1},"body":"x"}', headers: {} });
  });
});

describe('the checkpoint of a batch', () => {
  const ack: Settlement = { kind: 'ack', as: 'done' };
  const retry: Settlement = { kind: 'retry', delayMs: 100, attempts: 1, reason: 'x', headers: {} };
  const dead: Settlement = { kind: 'dead-letter', attempts: 3, reason: 'x', headers: {}, messageId: null };
  const held: Settlement = { kind: 'held' };

  it('passes everything when all is settled, dead letters included', () => {
    expect(settledPrefix([ack, dead, { kind: 'ack', as: 'skipped' }])).toBe(3);
  });

  it('stops before the first retry, and what is held after it', () => {
    expect(settledPrefix([ack, dead, retry, held, held])).toBe(2);
    expect(settledPrefix([retry, held])).toBe(0);
  });
});

describe('balancing leases', () => {
  const lease = (shardId: string, owner: string | null, expired = false): LeaseView => ({ stream: 's', shardId, owner, expired });

  it('takes every free shard when alone', () => {
    expect(planLeases('me', [lease('0', null), lease('1', null), lease('2', 'gone', true)])).toEqual({
      take: [lease('0', null), lease('1', null), lease('2', 'gone', true)],
      steal: null,
    });
  });

  it('takes one shard from a busy instance towards an even share, one a round', () => {
    const plan = planLeases('me', [lease('0', 'a'), lease('1', 'a'), lease('2', 'a'), lease('3', 'a')]);
    expect(plan.take).toEqual([]);
    expect(plan.steal?.owner).toBe('a');
  });

  it('takes nothing when the share is as even as it gets', () => {
    expect(planLeases('me', [lease('0', 'a'), lease('1', 'a'), lease('2', 'me')])).toEqual({ take: [], steal: null });
    expect(planLeases('me', [lease('0', 'a'), lease('1', 'me')])).toEqual({ take: [], steal: null });
  });

  it('takes free shards only up to its share', () => {
    const plan = planLeases('me', [lease('0', 'a'), lease('1', null), lease('2', null), lease('3', null)]);
    expect(plan.take.map((l) => l.shardId)).toEqual(['1', '2']);
    expect(plan.steal).toBeNull();
  });
});

describe('PutRecords chunks', () => {
  const entry = (bytes: number) => ({ PartitionKey: 'k', Data: new Uint8Array(bytes) });

  it('hold at most 500 records', () => {
    expect(chunks(Array.from({ length: 1_001 }, () => entry(10))).map((c) => c.length)).toEqual([500, 500, 1]);
  });

  it('hold at most 5 MB', () => {
    const mb = 1024 * 1024;
    const cut = chunks([entry(mb), entry(mb), entry(mb), entry(mb), entry(mb), entry(10)]);
    expect(cut.map((c) => c.length)).toEqual([4, 2]);
    for (const chunk of cut)
      expect(chunk.reduce((sum, e) => sum + (e.Data?.byteLength ?? 0) + 1, 0)).toBeLessThanOrEqual(PUT_RECORDS_MAX_BYTES);
  });
});

describe('the dead letters waiting in a stream', () => {
  const record = (sequenceNumber: string, headers: Record<string, string> = {}, shardId = 'shardId-0'): StreamRecord => ({
    body: '',
    headers,
    shardId,
    sequenceNumber,
    partitionKey: 'k',
    arrivedAt: null,
  });

  it('leave out markers, what they mark as replayed, and what a purge passed', () => {
    const waiting = waitingRecords([
      record('1'),
      record('2'),
      record('3'),
      record('4', { 'x-replayed-record': 'shardId-0/3' }),
      record('5', { 'x-purged-through': 'shardId-0/1' }),
      record('6'),
      record('7', {}, 'shardId-1'),
    ]);
    expect(waiting.map((r) => r.sequenceNumber)).toEqual(['2', '6', '7']);
  });
});

describe('stream names', () => {
  it('are the channel names, and a dead-letter stream per group', () => {
    expect(streamOf('boxoffice.orders')).toBe('boxoffice.orders');
    expect(deadLetterStreamOf('boxoffice.orders', 'email')).toBe('boxoffice.orders.email.dlt');
  });

  it('refuse what Kinesis would', () => {
    expect(() => streamOf('boxoffice:orders')).toThrow(/cannot be a Kinesis stream name/);
    expect(() => streamOf('x'.repeat(129))).toThrow(/cannot be a Kinesis stream name/);
  });
});
