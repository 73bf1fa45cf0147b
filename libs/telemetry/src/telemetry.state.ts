/**
 * Whether this process started the OpenTelemetry SDK. Kept on globalThis, so that a second copy
 * of this module (loaded under another URL: the --import'ed register module and the app's own
 * import of the lib) answers the same.
 */
const STARTED = Symbol.for('boxoffice.telemetry.started');

type WithFlag = typeof globalThis & { [STARTED]?: boolean };

export function isTracing(): boolean {
  return (globalThis as WithFlag)[STARTED] === true;
}

export function markTracing(started: boolean): void {
  (globalThis as WithFlag)[STARTED] = started;
}

/**
 * Natively, tracing is off unless an OTLP endpoint is configured: the standard variables
 * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and OTEL_SDK_DISABLED=true
 * turns it off all the same. See docs/observability.md.
 */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/**
 * Whether tracing records a span per SQL statement (instrumentation-pg): off unless
 * TRACING_SQL_SPANS=on. Its wrapper runs on every query, traced or not, and a batch of a consumer
 * is a dozen statements; the message-boundary spans (HTTP, create, send, process) say where the
 * time went to the hop, and the statements are for a closer look. See docs/observability.md.
 */
export function sqlSpansConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TRACING_SQL_SPANS?.trim().toLowerCase() === 'on';
}
