import { SpanKind, SpanStatusCode, context, type Tracer } from '@opentelemetry/api';
import type { MessageDefinition, PayloadOf } from '@boxoffice/contracts';
import { MessageSender, Outbox, type EnvelopeFactory, type EnvelopeOptions, type OutboxEntry, type Routing } from '@boxoffice/messaging';
import { messagingAttributes, MessagingAttributes, spanNameOf } from './messaging.attributes.js';
import { contextOf, messagingTracer, traceparentOf } from './trace-context.js';

/**
 * A MessageSender that opens a `create <channel>` span (kind PRODUCER) for every message it
 * builds, and stores that span's context in the envelope's `traceparent`, so it rides in the
 * outbox row with the envelope. The span is a child of what is active: the HTTP request, or the
 * consumer's process span of the message being handled. `options.traceparent` names another
 * parent: a batch handler's sends are attributed this way to the message that caused them.
 */
export class TracedMessageSender extends MessageSender {
  constructor(
    envelopes: EnvelopeFactory,
    private readonly destinations: Routing,
    outbox: Outbox = new Outbox(),
    private readonly tracer: Tracer = messagingTracer(),
  ) {
    super(envelopes, destinations, outbox);
  }

  override entry<Definition extends MessageDefinition>(
    definition: Definition,
    payload: PayloadOf<Definition>,
    options: EnvelopeOptions = {},
  ): OutboxEntry {
    const parent = options.traceparent ? contextOf(options.traceparent) : context.active();
    const destination = this.destinations.destinationOf(definition, payload);
    const span = this.tracer.startSpan(
      spanNameOf('create', destination.channel),
      {
        kind: SpanKind.PRODUCER,
        attributes: messagingAttributes({
          operation: 'create',
          transport: destination.transport,
          channel: destination.channel,
          messageType: definition.type,
        }),
      },
      parent,
    );
    try {
      const entry = super.entry(definition, payload, { ...options, traceparent: traceparentOf(span) });
      span.setAttribute(MessagingAttributes.messageId, entry.envelope.id);
      span.setAttribute(MessagingAttributes.conversationId, entry.envelope.correlationId);
      return entry;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  }
}
