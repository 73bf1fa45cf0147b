export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.sdk.js';
export { isTracing, tracingConfigured } from './telemetry.state.js';
export { serviceNameOf } from './service-name.js';
export { formatTraceparent, parseTraceparent } from './traceparent.js';
export { traceHeaders, contextOf, currentTraceId, inTraceContextOf, messagingTracer, traceparentOf, withTraceId } from './trace-context.js';
export {
  BoxofficeAttributes,
  continuesTrace,
  messagingAttributes,
  MessagingAttributes,
  messagingSystemOf,
  spanNameOf,
  type MessagingOperation,
  type MessagingSpanFacts,
} from './messaging.attributes.js';
export { TracedMessageSender } from './traced-message.sender.js';
export { TracedPublisher } from './traced.publisher.js';
export { PipelineTracing, type PipelineTracingOptions } from './pipeline-tracing.observer.js';
export { MessagingTracing, type MessagingTracingOptions } from './messaging.tracing.js';
export { decodeTraces, OtlpTraceSink, type ReceivedSpan, type ReceivedSpanKind } from './otlp.sink.js';
