import { TraceFlags, type SpanContext } from '@opentelemetry/api';

/**
 * W3C trace context, the form the envelope and the message headers carry it in:
 * `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>`.
 * See https://www.w3.org/TR/trace-context/#traceparent-header
 */
const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;
const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);

/** The span context a traceparent names, marked remote (it came from another process); null if it is not one. */
export function parseTraceparent(traceparent: string | null | undefined): SpanContext | null {
  const match = TRACEPARENT.exec(traceparent?.trim() ?? '');
  if (!match) return null;
  const [, version, traceId, spanId, flags] = match;
  // Version ff is forbidden; all-zero ids are invalid by the spec.
  if (version === 'ff' || traceId === INVALID_TRACE_ID || spanId === INVALID_SPAN_ID) return null;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

export function formatTraceparent({ traceId, spanId, traceFlags }: Pick<SpanContext, 'traceId' | 'spanId' | 'traceFlags'>): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
