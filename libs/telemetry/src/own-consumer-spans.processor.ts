import { SpanKind, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';

/** The client libraries whose consumer spans boxoffice's own pipeline spans replace. */
const CLIENT_INSTRUMENTATIONS = ['@opentelemetry/instrumentation-amqplib', '@opentelemetry/instrumentation-kafkajs'];

/**
 * Exports every span but the consumer spans of amqplib's and kafkajs's instrumentations. Those
 * say "a message arrived" once per message and group, as our pipeline's spans already do with
 * the semantic conventions' batch span (one link per message) and a process span per message that
 * continues its trace; both would double what a consumed message costs to trace. Their producer
 * spans (publish, send) are kept: they are the broker hop of the trace. The pipeline's spans are
 * roots or children of the message's own context, never of these, so no exported span loses its
 * parent.
 */
export class OwnConsumerSpansOnly implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (span.kind === SpanKind.CONSUMER && CLIENT_INSTRUMENTATIONS.includes(span.instrumentationScope.name)) return;
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
