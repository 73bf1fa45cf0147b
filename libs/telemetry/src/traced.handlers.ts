import { SpanKind, SpanStatusCode, context, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Envelope, MessageDefinition, ServiceName } from '@boxoffice/contracts';
import {
  handlerKey,
  isBatchHandler,
  type AnyHandler,
  type BatchHandler,
  type HandlerContext,
  type HandlerOutcome,
  type HandlerRegistration,
  type MessageHandler,
  type Routing,
} from '@boxoffice/messaging';
import { BoxofficeAttributes, continuesTrace, messagingAttributes, spanNameOf } from './messaging.attributes.js';
import type { InboundTraces } from './traced-batch.processor.js';
import { messagingTracer, traceparentOf } from './trace-context.js';
import { parseTraceparent } from './traceparent.js';

export interface TracedHandlersOptions {
  readonly service: ServiceName;
  readonly routing: Routing;
  readonly transport: string;
  readonly consumerGroup: string;
  readonly traces: InboundTraces;
  readonly tracer?: Tracer;
}

/**
 * A service's handler registrations, each handler wrapped so that every message it handles has a
 * `process <channel>` span of its own (kind CONSUMER), inside the batch's span:
 * - a command, or the answer to one the service sent, continues the message's trace: the span's
 *   parent is the context the message arrived with;
 * - any other event is linked to that context instead, and stays in the batch's trace.
 * What a handler sends is created under its message's span: a per-message handler runs with it
 * active; a batch handler's sends are given the span of the message they answer, the one that
 * caused them or, failing that, the one with the same partition key (an order's charge and its
 * payment result share the order id).
 *
 * One wrapper per handler instance, so the pipeline still sees one handler where a service
 * registered one for several types (and groups their runs as before).
 */
export function traceHandlers<Tx>(
  registrations: ReadonlyArray<HandlerRegistration<AnyHandler<Tx>>>,
  options: TracedHandlersOptions,
): Array<HandlerRegistration<AnyHandler<Tx>>> {
  const definitions = new Map(registrations.map(({ message }) => [handlerKey(message), message]));
  const spans = new MessageSpans(options, definitions);
  const wrapped = new Map<AnyHandler<Tx>, AnyHandler<Tx>>();
  return registrations.map(({ message, handler }) => {
    let traced = wrapped.get(handler);
    if (!traced)
      wrapped.set(handler, (traced = isBatchHandler(handler) ? tracedBatchHandler(handler, spans) : tracedMessageHandler(handler, spans)));
    return { message, handler: traced };
  });
}

class MessageSpans {
  private readonly tracer: Tracer;

  constructor(
    private readonly options: TracedHandlersOptions,
    private readonly definitions: ReadonlyMap<string, MessageDefinition>,
  ) {
    this.tracer = options.tracer ?? messagingTracer();
  }

  definitionOf(envelope: Envelope): MessageDefinition | undefined {
    return this.definitions.get(handlerKey(envelope));
  }

  /** The span of one message being handled, parented or linked as its kind says. */
  start(envelope: Envelope, source: string): Span {
    const arrived = this.options.traces.get(envelope.id) ?? parseTraceparent(envelope.traceparent) ?? undefined;
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

  /** The partition key a message travels by, to match a batch handler's sends to their cause. */
  keyOf(definition: MessageDefinition | undefined, payload: unknown): string | null {
    if (!definition) return null;
    try {
      return this.options.routing.destinationOf(definition, payload).key;
    } catch {
      return null;
    }
  }
}

function end(span: Span, outcome: HandlerOutcome): void {
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

function tracedMessageHandler<Tx>(handler: MessageHandler<never, Tx>, spans: MessageSpans): MessageHandler<never, Tx> {
  return {
    ...(handler.prepare ? { prepare: (messages) => handler.prepare!(messages) } : {}),
    ...(handler.afterCommit ? { afterCommit: (messages) => handler.afterCommit!(messages) } : {}),
    async handle(message, messageContext) {
      const span = spans.start(message, messageContext.source);
      try {
        const outcome = await context.with(trace.setSpan(context.active(), span), () => handler.handle(message, messageContext));
        end(span, outcome);
        return outcome;
      } catch (error) {
        failed(span, error);
        throw error;
      }
    },
  };
}

function tracedBatchHandler<Tx>(handler: BatchHandler<never, Tx>, spans: MessageSpans): BatchHandler<never, Tx> {
  return {
    ...(handler.prepare ? { prepare: (messages) => handler.prepare!(messages) } : {}),
    ...(handler.afterCommit ? { afterCommit: (messages) => handler.afterCommit!(messages) } : {}),
    async handleBatch(messages, handlerContext) {
      const started = messages.map((message) => ({ message: message as Envelope, span: spans.start(message, handlerContext.source) }));
      const byId = new Map(started.map(({ message, span }) => [message.id, span]));
      const byKey = new Map<string, Span>();
      for (const { message, span } of started) {
        const key = spans.keyOf(spans.definitionOf(message), message.payload);
        if (key !== null && !byKey.has(key)) byKey.set(key, span);
      }
      const send: HandlerContext<Tx>['send'] = (definition, payload, options = {}) => {
        if (options.traceparent) return handlerContext.send(definition, payload, options);
        const cause = (options.causedBy && byId.get(options.causedBy.id)) ?? byKey.get(spans.keyOf(definition, payload) ?? '');
        return handlerContext.send(definition, payload, cause ? { ...options, traceparent: traceparentOf(cause) } : options);
      };
      try {
        const outcomes = await handler.handleBatch(messages, { ...handlerContext, send });
        for (const { message, span } of started) end(span, outcomes?.get(message.id) ?? { kind: 'done' });
        return outcomes;
      } catch (error) {
        for (const { span } of started) failed(span, error);
        throw error;
      }
    },
  };
}
