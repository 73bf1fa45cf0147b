import type { Tracer } from '@opentelemetry/api';
import type { ServiceName } from '@boxoffice/contracts';
import {
  MessageSender,
  type AnyHandler,
  type BatchProcessor,
  type EnvelopeFactory,
  type HandlerRegistration,
  type Publisher,
  type Routing,
} from '@boxoffice/messaging';
import { isTracing } from './telemetry.state.js';
import { InboundTraces, TracedBatchProcessor } from './traced-batch.processor.js';
import { traceHandlers } from './traced.handlers.js';
import { TracedMessageSender } from './traced-message.sender.js';
import { TracedPublisher } from './traced.publisher.js';

export interface MessagingTracingOptions {
  readonly service: ServiceName;
  readonly routing: Routing;
  /** The registered provider's unless given (a spec's own provider, say). */
  readonly tracer?: Tracer;
}

/** What a consumer is traced with: its handlers and its batch processor share what each message arrived with. */
export interface TracedConsumption {
  handlers<Tx>(registrations: ReadonlyArray<HandlerRegistration<AnyHandler<Tx>>>): Array<HandlerRegistration<AnyHandler<Tx>>>;
  processor(pipeline: BatchProcessor): BatchProcessor;
}

/**
 * Where the platform runtime gets its traced parts: the sender (create spans), the relay's
 * publishers (send spans) and each consumer (process spans). `forService` gives null when
 * tracing is off (no OTLP endpoint configured), and the runtime then uses the plain parts:
 * nothing wrapped, nothing spent.
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

  consumption(transport: string, consumerGroup: string): TracedConsumption {
    const traces = new InboundTraces();
    const { service, routing, tracer } = this.options;
    return {
      handlers: (registrations) => traceHandlers(registrations, { service, routing, transport, consumerGroup, traces, tracer }),
      processor: (pipeline) => new TracedBatchProcessor(pipeline, { transport, consumerGroup, traces, tracer }),
    };
  }
}
