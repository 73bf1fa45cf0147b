import { SpanKind, SpanStatusCode, context, type Span, type Tracer } from '@opentelemetry/api';
import type { OutgoingMessage, PublishOptions, Publisher } from '@boxoffice/messaging';
import { messagingAttributes, spanNameOf } from './messaging.attributes.js';
import { contextOf, messagingTracer, traceparentOf } from './trace-context.js';

/**
 * The outbox relay's publisher, traced. Each message gets a `send <channel>` span (kind PRODUCER)
 * whose parent is the context stored with it in the outbox row (its `create` span), not the
 * relay's: the relay claims rows written by many requests, so the one context active while it
 * publishes belongs to none of them. The send span's context goes into the message's
 * `traceparent` header, and the adapter publishes each message under it (inTraceContextOf), so
 * the broker client's own span (amqplib's, kafkajs's) continues the same trace.
 */
export class TracedPublisher implements Publisher {
  constructor(
    private readonly inner: Publisher,
    private readonly tracer: Tracer = messagingTracer(),
  ) {}

  get name(): string {
    return this.inner.name;
  }

  async publish(messages: ReadonlyArray<OutgoingMessage>, options?: PublishOptions): Promise<void> {
    const spans: Span[] = [];
    const traced = messages.map((message): OutgoingMessage => {
      const { envelope, destination } = message;
      const span = this.tracer.startSpan(
        spanNameOf('send', destination.channel),
        {
          kind: SpanKind.PRODUCER,
          attributes: messagingAttributes({
            operation: 'send',
            transport: destination.transport,
            channel: destination.channel,
            messageId: envelope.id,
            messageType: envelope.type,
            correlationId: envelope.correlationId,
          }),
        },
        contextOf(envelope.traceparent, context.active()),
      );
      spans.push(span);
      return { ...message, headers: { ...message.headers, traceparent: traceparentOf(span) } };
    });
    try {
      await this.inner.publish(traced, options);
    } catch (error) {
      for (const span of spans)
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      for (const span of spans) span.end();
    }
  }
}
