import { SpanKind, SpanStatusCode, context, trace, type Link, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { BatchProcessor, InboundMessage, Settlement, SourceSemantics } from '@boxoffice/messaging';
import { BoxofficeAttributes, messagingAttributes, MessagingAttributes, spanNameOf } from './messaging.attributes.js';
import { messagingTracer } from './trace-context.js';
import { parseTraceparent } from './traceparent.js';

/**
 * The trace context each message of the batches in flight arrived with, by envelope id: what the
 * batch span found, for the per-message spans of the handlers (traced.handlers.ts) to parent or
 * link to. One per consumer.
 */
export class InboundTraces {
  private readonly byId = new Map<string, SpanContext>();

  get(messageId: string): SpanContext | undefined {
    return this.byId.get(messageId.toLowerCase());
  }

  set(messageId: string, spanContext: SpanContext): void {
    this.byId.set(messageId.toLowerCase(), spanContext);
  }

  delete(messageId: string): void {
    this.byId.delete(messageId.toLowerCase());
  }
}

export interface TracedBatchProcessorOptions {
  readonly transport: string;
  /** The consumer group (or competing consumers' name) as the broker knows it. */
  readonly consumerGroup: string;
  readonly traces: InboundTraces;
  readonly tracer?: Tracer;
}

/**
 * Wraps the BatchProcessor a transport hands its batches to (the ConsumerPipeline) in one
 * `process <channel>` span (kind CONSUMER) per batch, as the messaging conventions have it: one
 * link per message to the context it arrived with, `messaging.batch.message_count`, and an event
 * for each message retried or dead-lettered, with the reason. A message's context is its
 * `traceparent` header (the relay's send span, or the broker client's), else its envelope's.
 */
export class TracedBatchProcessor implements BatchProcessor {
  private readonly tracer: Tracer;

  constructor(
    private readonly inner: BatchProcessor,
    private readonly options: TracedBatchProcessorOptions,
  ) {
    this.tracer = options.tracer ?? messagingTracer();
  }

  async process(source: string, messages: ReadonlyArray<InboundMessage>, semantics: SourceSemantics): Promise<Settlement[]> {
    const arrived = messages.map(arrivedWith);
    const links: Link[] = [];
    for (const { id, spanContext } of arrived) {
      if (!spanContext) continue;
      links.push({ context: spanContext, attributes: id ? { [MessagingAttributes.messageId]: id } : {} });
      if (id) this.options.traces.set(id, spanContext);
    }
    // A trace of its own, linked to every message's: never a child of whatever the client
    // library had active when it handed the batch over (see OwnConsumerSpansOnly).
    const span = this.tracer.startSpan(spanNameOf('process', source), {
      kind: SpanKind.CONSUMER,
      root: true,
      links,
      attributes: messagingAttributes({
        operation: 'process',
        transport: this.options.transport,
        channel: source,
        consumerGroup: this.options.consumerGroup,
        batchCount: messages.length,
      }),
    });
    try {
      const settlements = await context.with(trace.setSpan(context.active(), span), () => this.inner.process(source, messages, semantics));
      settlements.forEach((settlement, i) => {
        if (settlement.kind !== 'retry' && settlement.kind !== 'dead-letter') return;
        span.addEvent(settlement.kind, {
          [MessagingAttributes.messageId]: arrived[i].id ?? '',
          [BoxofficeAttributes.outcomeReason]: settlement.reason,
        });
      });
      if (settlements.some((s) => s.kind === 'dead-letter'))
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'a message was dead-lettered' });
      return settlements;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
      for (const { id } of arrived) if (id) this.options.traces.delete(id);
    }
  }
}

/** A message's id and the context it carries, read from its headers, else from its envelope. */
function arrivedWith(message: InboundMessage): { id: string | null; spanContext: SpanContext | null } {
  const fromHeader = parseTraceparent(message.headers.traceparent);
  let envelope: { id?: unknown; traceparent?: unknown } | null;
  try {
    envelope = JSON.parse(message.body === null ? '' : message.body.toString()) as { id?: unknown; traceparent?: unknown } | null;
  } catch {
    envelope = null; // poison: the pipeline dead-letters it; it has no context to link
  }
  const id = typeof envelope?.id === 'string' ? envelope.id : (message.headers['message-id'] ?? null);
  const spanContext = fromHeader ?? parseTraceparent(typeof envelope?.traceparent === 'string' ? envelope.traceparent : null);
  return { id, spanContext };
}
