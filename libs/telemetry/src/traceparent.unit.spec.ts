import { describe, expect, it } from '@jest/globals';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';

describe('a traceparent', () => {
  it('reads as a remote span context', () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-01`)).toEqual({ traceId, spanId, traceFlags: 1, isRemote: true });
  });

  it('keeps only the sampled flag', () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-03`)?.traceFlags).toBe(1);
    expect(parseTraceparent(`00-${traceId}-${spanId}-00`)?.traceFlags).toBe(0);
  });

  it('is written back the way it was read', () => {
    const traceparent = `00-${traceId}-${spanId}-01`;
    expect(formatTraceparent(parseTraceparent(traceparent)!)).toBe(traceparent);
    expect(formatTraceparent({ traceId, spanId, traceFlags: 0 })).toBe(`00-${traceId}-${spanId}-00`);
  });

  it.each([
    ['nothing', undefined],
    ['an empty string', ''],
    ['upper-case hex', `00-${traceId.toUpperCase()}-${spanId}-01`],
    ['a short trace id', `00-${traceId.slice(1)}-${spanId}-01`],
    ['the forbidden version ff', `ff-${traceId}-${spanId}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${spanId}-01`],
    ['an all-zero span id', `00-${traceId}-${'0'.repeat(16)}-01`],
  ])('is not one when it is %s', (_, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });
});
