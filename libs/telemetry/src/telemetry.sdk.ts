import { register } from 'node:module';
import type { Span } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { isTracing, markTracing, sqlSpansConfigured, tracingConfigured } from './telemetry.state.js';
import { OwnConsumerSpansOnly } from './own-consumer-spans.processor.js';
import { inTraceContextOf } from './trace-context.js';

export interface TelemetryOptions {
  /** `service.name` of every span: checkout, billing, ... */
  readonly service: string;
  /** Instead of the OTLP/HTTP exporter (JSON) that the standard OTEL_EXPORTER_OTLP_* and OTEL_BSP_* variables configure. */
  readonly spanProcessors?: SpanProcessor[];
  /** Start even without an endpoint configured (a spec with its own span processors). */
  readonly force?: boolean;
}

export interface Telemetry {
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK for a service, when an OTLP endpoint is configured (see
 * tracingConfigured), with spans for amqplib and kafkajs (and pg with TRACING_SQL_SPANS=on); the
 * HTTP requests' spans come from libs/platform (traceHttpRequests). Returns null and loads nothing
 * of the SDK when tracing is off.
 *
 * It must run before the app's modules are loaded, which is what telemetry.register.ts is for
 * (`node --import ./dist/libs/telemetry/src/telemetry.register.js ...`): the apps are ES modules,
 * and an ES module's imports are resolved before any of its code runs, so only a loader hook
 * registered first (import-in-the-middle's, through @opentelemetry/instrumentation/hook.mjs)
 * lets the instrumentations patch `pg`, `amqplib` and `kafkajs` as the app imports them.
 * Metrics and logs are not sent: /metrics is Prometheus's.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry | null> {
  if (isTracing()) throw new Error('telemetry is already started in this process');
  if (!options.force && !tracingConfigured()) return null;
  // The loader hook wraps only the modules an instrumentation hooks (pg, amqplib, kafkajs):
  // unrestricted, it would put a getter in front of every binding of every module the app
  // imports (Nest, Prisma, zod...), which costs on every call, traced or not.
  const { createAddHookMessageChannel } = await import('import-in-the-middle');
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions);

  const [{ NodeSDK }, { BatchSpanProcessor }, { OTLPTraceExporter }, pg, amqplib, kafkajs] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-amqplib'),
    import('@opentelemetry/instrumentation-kafkajs'),
  ]);
  const sdk = new NodeSDK({
    serviceName: options.service,
    // A batch span processor configured by OTEL_BSP_* around the exporter, behind the filter of the
    // client libraries' consumer spans.
    spanProcessors: (
      options.spanProcessors ?? [new BatchSpanProcessor({ exporter: new OTLPTraceExporter(), ...batchSettingsFromEnv() })]
    ).map((processor) => new OwnConsumerSpansOnly(processor)),
    // Prometheus scrapes the metrics and the logs go to stdout: only traces leave by OTLP.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // No HTTP instrumentation: a service's HTTP spans are its own, from one Fastify hook
      // (libs/platform's http.tracing.ts), at a fraction of what wrapping node:http costs.
      // Only with TRACING_SQL_SPANS=on (its wrapper costs on every query), and only inside a
      // request's or a message's span: the relay's polls would be a root trace each. Connect spans
      // (a pooled connection handed out) say nothing a query span does not, at one per query.
      ...(sqlSpansConfigured() ? [new pg.PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true })] : []),
      new amqplib.AmqplibInstrumentation(),
      perRecordContext(new kafkajs.KafkaJsInstrumentation()),
    ],
  });
  sdk.start();
  // The instrumentations have named their modules to the loader; none may load before it knows.
  await waitForAllMessagesAcknowledged();
  markTracing(true);
  return {
    shutdown: async () => {
      markTracing(false);
      await sdk.shutdown();
    },
  };
}

type KafkaRecord = { headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined> };

/**
 * kafkajs's instrumentation starts a `send` span per record of a `sendBatch`, all under the one
 * context active when the batch was sent, and writes it into each record's headers. The relay
 * sends the records of many traces in one batch, so each record's span is started under the
 * context its own `traceparent` header names (the relay's send span) instead. kafkajs offers no
 * hook that runs before the span is started, hence this wrapper of its (pinned) internal method.
 */
function perRecordContext<T extends object>(instrumentation: T): T {
  const patchable = instrumentation as unknown as { _startProducerSpan?: (topic: string, message: KafkaRecord, client: unknown) => Span };
  const start = patchable._startProducerSpan;
  if (typeof start !== 'function')
    throw new Error('@opentelemetry/instrumentation-kafkajs changed: _startProducerSpan is gone (see telemetry.sdk.ts)');
  patchable._startProducerSpan = function (topic, message, client) {
    const header = message.headers?.traceparent;
    const traceparent = Array.isArray(header) ? header.at(-1) : header;
    return inTraceContextOf(traceparent?.toString(), () => start.call(this, topic, message, client));
  };
  return instrumentation;
}

/**
 * The batch span processor's standard OTEL_BSP_* variables, which the SDK reads only for the
 * processor it builds itself (this one is built here, to sit behind OwnConsumerSpansOnly).
 */
function batchSettingsFromEnv(environment: NodeJS.ProcessEnv = process.env) {
  const number = (name: string) =>
    environment[name] && Number.isFinite(Number(environment[name])) ? Number(environment[name]) : undefined;
  const settings = {
    scheduledDelayMillis: number('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: number('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: number('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}
