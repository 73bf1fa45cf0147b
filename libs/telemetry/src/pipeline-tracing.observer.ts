import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Context,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { Envelope, MessageDefinition, ServiceName } from '@boxoffice/contracts';
import {
  handlerKey,
  isBatchHandler,
  type BatchObservation,
  type HandlerCall,
  type HandlerCallEnd,
  type HandlerCallObservation,
  type HandlerOutcome,
  type InboundMessage,
  type PipelineObserver,
  type Routing,
} from '@boxoffice/messaging';
import { BoxofficeAttributes, continuesTrace, messagingAttributes, MessagingAttributes, spanNameOf } from './messaging.attributes.js';
import { messagingTracer, traceparentOf } from './trace-context.js';
import { parseTraceparent } from './traceparent.js';

export interface PipelineTracingOptions {
  readonly service: ServiceName;
  readonly routing: Routing;
  readonly transport: string;
  /** The consumer group (or competing consumers' name) as the broker knows it. */
  readonly consumerGroup: string;
  readonly tracer?: Tracer;
}

/**
 * The spans of a consumer, as the messaging conventions have them, observed from beside its
 * pipeline (pipeline.observer.ts in libs/messaging):
 * - each batch: one `process <channel>` span (kind CONSUMER), a trace of its own with one link
 *   per message to the context it arrived with, `messaging.batch.message_count`, an event for
 *   each message retried or dead-lettered, with the reason. A message's context is its
 *   `traceparent` header (the relay's send span, or the broker client's), else its envelope's;
 * - each message handled: a `process <channel>` span of its own, inside the batch's. A command, or
 *   the answer to one the service sent, continues the message's trace (the span's parent is the
 *   context it arrived with); any other event is linked to that context instead.
 * What a handler sends is created under its message's span: a per-message handler runs with it
 * active; a batch handler's sends are given the span of the message they answer, the one that
 * caused them or, failing that, the one with the same partition key (an order's charge and its
 * payment result share the order id).
 */
export class PipelineTracing implements PipelineObserver {
  private readonly tracer: Tracer;
  private readonly definitions: ReadonlyMap<string, MessageDefinition>;

  constructor(private readonly options: PipelineTracingOptions) {
    this.tracer = options.tracer ?? messagingTracer();
    this.definitions = new Map(options.routing.entries.map(({ message }) => [handlerKey(message), message]));
  }

  batchBegun(source: string, messages: ReadonlyArray<InboundMessage>): BatchObservation {
    const arrived = messages.map(arrivedWith);
    const links: Link[] = [];
    const byId = new Map<string, SpanContext>();
    for (const { id, spanContext } of arrived) {
      if (!spanContext) continue;
      links.push({ context: spanContext, attributes: id ? { [MessagingAttributes.messageId]: id } : {} });
      if (id) byId.set(id.toLowerCase(), spanContext);
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
    const batchContext = trace.setSpan(context.active(), span);
    return {
      run: (work) => context.with(batchContext, work),
      handlerCalled: (call) => this.handlerCalled(call, byId),
      messageSettled: (index, settlement) => {
        if (settlement.kind !== 'retry' && settlement.kind !== 'dead-letter') return;
        span.addEvent(settlement.kind, {
          [MessagingAttributes.messageId]: arrived[index].id ?? '',
          [BoxofficeAttributes.outcomeReason]: settlement.reason,
        });
        if (settlement.kind === 'dead-letter') span.setStatus({ code: SpanStatusCode.ERROR, message: 'a message was dead-lettered' });
      },
      batchEnded: (end) => {
        if ('error' in end) {
          span.recordException(end.error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(end.error) });
        }
        span.end();
      },
    };
  }

  /** A span per message of the call, ended with its outcome; a per-message handler runs with its span active. */
  private handlerCalled({ source, handler, messages }: HandlerCall, arrived: ReadonlyMap<string, SpanContext>): HandlerCallObservation {
    const spans = messages.map((message) => this.start(message, source, arrived));
    const ended = (end: HandlerCallEnd) =>
      spans.forEach((span, i) => ('error' in end ? failed(span, end.error) : finished(span, end.outcomes[i] ?? { kind: 'done' })));
    if (!isBatchHandler(handler)) return { run: (work) => context.with(trace.setSpan(context.active(), spans[0]), work), ended };
    // Several messages in one call, so no one span can be the active one: each send names its cause.
    const byId = new Map(messages.map((message, i) => [message.id, spans[i]]));
    const byKey = new Map<string, Span>();
    messages.forEach((message, i) => {
      const key = this.keyOf(this.definitionOf(message), message.payload);
      if (key !== null && !byKey.has(key)) byKey.set(key, spans[i]);
    });
    return {
      sending: (definition, payload, options) => {
        if (options.traceparent) return options;
        const cause = (options.causedBy && byId.get(options.causedBy.id)) ?? byKey.get(this.keyOf(definition, payload) ?? '');
        return cause ? { ...options, traceparent: traceparentOf(cause) } : options;
      },
      ended,
    };
  }

  /** The span of one message being handled, parented or linked as its kind says. */
  private start(envelope: Envelope, source: string, arrivedById: ReadonlyMap<string, SpanContext>): Span {
    const arrived = arrivedById.get(envelope.id.toLowerCase()) ?? parseTraceparent(envelope.traceparent) ?? undefined;
    const definition = this.definitionOf(envelope);
    const continues =
      arrived !== undefined && definition !== undefined && continuesTrace(definition, this.options.service, this.options.routing.entries);
    const batch = context.active();
    const parent: Context = continues ? trace.setSpanContext(batch, arrived) : batch;
    return this.tracer.startSpan(
      spanNameOf('process', source),
      {
        kind: SpanKind.CONSUMER,
        links: !continues && arrived ? [{ context: arrived }] : [],
        attributes: messagingAttributes({
          operation: 'process',
          transport: this.options.transport,
          channel: source,
          consumerGroup: this.options.consumerGroup,
          messageId: envelope.id,
          messageType: envelope.type,
          correlationId: envelope.correlationId,
        }),
      },
      parent,
    );
  }

  private definitionOf(envelope: Envelope): MessageDefinition | undefined {
    return this.definitions.get(handlerKey(envelope));
  }

  /** The partition key a message travels by, to match a batch handler's sends to their cause. */
  private keyOf(definition: MessageDefinition | undefined, payload: unknown): string | null {
    if (!definition) return null;
    try {
      return this.options.routing.destinationOf(definition, payload).key;
    } catch {
      return null;
    }
  }
}

function finished(span: Span, outcome: HandlerOutcome): void {
  span.setAttribute(BoxofficeAttributes.outcome, outcome.kind);
  if (outcome.kind !== 'done') {
    span.setAttribute(BoxofficeAttributes.outcomeReason, outcome.reason);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.kind}: ${outcome.reason}` });
  }
  span.end();
}

function failed(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
  span.end();
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
