import type { Tracer } from '@opentelemetry/api';
import type { ServiceName } from '@boxoffice/contracts';
import { MessageSender, type EnvelopeFactory, type PipelineObserver, type Publisher, type Routing } from '@boxoffice/messaging';
import { isTracing } from './telemetry.state.js';
import { PipelineTracing } from './pipeline-tracing.observer.js';
import { TracedMessageSender } from './traced-message.sender.js';
import { TracedPublisher } from './traced.publisher.js';

export interface MessagingTracingOptions {
  readonly service: ServiceName;
  readonly routing: Routing;
  /** The registered provider's unless given (a spec's own provider, say). */
  readonly tracer?: Tracer;
}

/**
 * Where the platform runtime gets its traced parts: the sender (create spans), the relay's
 * publishers (send spans) and each consumer pipeline's observer (process spans). `forService`
 * gives null when tracing is off (no OTLP endpoint configured), and the runtime then uses the
 * plain parts: nothing traced, nothing spent.
 */
export class MessagingTracing {
  constructor(private readonly options: MessagingTracingOptions) {}

  static forService(options: MessagingTracingOptions): MessagingTracing | null {
    return isTracing() ? new MessagingTracing(options) : null;
  }

  /** The sender of a service, with or without tracing as configured. */
  static sender(envelopes: EnvelopeFactory, routing: Routing): MessageSender {
    return isTracing() ? new TracedMessageSender(envelopes, routing) : new MessageSender(envelopes, routing);
  }

  publisher(publisher: Publisher): Publisher {
    return new TracedPublisher(publisher, this.options.tracer);
  }

  /** What traces a consumer's pipeline, as its observer: a span per batch and per message handled. */
  consumer(transport: string, consumerGroup: string): PipelineObserver {
    const { service, routing, tracer } = this.options;
    return new PipelineTracing({ service, routing, transport, consumerGroup, tracer });
  }
}
