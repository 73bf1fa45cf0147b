import { context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from './traceparent.js';

/** The tracer of boxoffice's own spans (outbox, relay, consumers), from the registered provider. */
export function messagingTracer(): Tracer {
  return trace.getTracer('@boxoffice/telemetry');
}

/** `base` with the span a traceparent names as its parent; `base` itself when there is none. */
export function contextOf(traceparent: string | null | undefined, base: Context = context.active()): Context {
  const spanContext = parseTraceparent(traceparent);
  return spanContext ? trace.setSpanContext(base, spanContext) : base;
}

/** The traceparent that makes a span the parent of what comes next. */
export function traceparentOf(span: Span): string {
  return formatTraceparent(span.spanContext());
}

/**
 * Runs `work` with the span a message's traceparent names as the active one. Adapters publish each
 * message of a batch this way: a broker client's instrumentation (amqplib's) starts its publish
 * span under the active context and writes that span into the message's headers, so publishing
 * from the relay's own context would start a trace of its own and cut the message off from the
 * request that created it. Without a traceparent, or with tracing off, it just runs `work`.
 */
export function inTraceContextOf<T>(traceparent: string | null | undefined, work: () => T): T {
  const spanContext = parseTraceparent(traceparent);
  return spanContext ? context.with(trace.setSpanContext(context.active(), spanContext), work) : work();
}

/**
 * The active context as HTTP headers (`traceparent`, and whatever else OTEL_PROPAGATORS names),
 * so that the callee's span continues this trace: the HTTP client (fetch) is not instrumented.
 * Empty when tracing is off.
 */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** The trace id of the active span, for log lines; null when none is recording. */
export function currentTraceId(): string | null {
  const span = trace.getActiveSpan();
  if (!span) return null;
  const { traceId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? traceId : null;
}

/** A log line with the active trace's id, `trace_id=<id>`, appended when there is one. */
export function withTraceId(line: string): string {
  const traceId = currentTraceId();
  return traceId ? `${line} trace_id=${traceId}` : line;
}
