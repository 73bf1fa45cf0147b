import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';

export type ReceivedSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type AttributeValue = string | number | boolean | null;

/** A span as a service exported it by OTLP, flattened: the service it came from beside its own fields. */
export interface ReceivedSpan {
  readonly service: string;
  readonly scope: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: ReceivedSpanKind;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly links: ReadonlyArray<{
    readonly traceId: string;
    readonly spanId: string;
    readonly attributes: Readonly<Record<string, AttributeValue>>;
  }>;
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Readonly<Record<string, AttributeValue>> }>;
  /** 0 unset, 1 ok, 2 error. */
  readonly status: number;
  readonly startUnixNano: bigint;
  readonly endUnixNano: bigint;
}

const KINDS: ReceivedSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

/**
 * A tiny OTLP/HTTP trace receiver: `POST /v1/traces` with the JSON encoding, which
 * @opentelemetry/exporter-trace-otlp-http sends. For the end-to-end trace spec and the bench's
 * tracing mode: the services export to it as they would to a collector
 * (OTEL_EXPORTER_OTLP_ENDPOINT = `sink.url`), and it keeps every span it is sent.
 */
export class OtlpTraceSink {
  readonly spans: ReceivedSpan[] = [];
  private server: Server | null = null;
  private port = 0;
  /** When false, spans are counted and not kept (a bench's long run). */
  constructor(private readonly keep = true) {}

  /** Spans received, kept or not. */
  received = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      void this.accept(request).then(
        (status) => response.writeHead(status, { 'content-type': 'application/json' }).end('{}'),
        (error: unknown) => response.writeHead(400, { 'content-type': 'text/plain' }).end(String(error)),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  private async accept(request: IncomingMessage): Promise<number> {
    if (request.method !== 'POST' || !request.url?.startsWith('/v1/traces')) return 404;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body = Buffer.concat(chunks);
    if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    if (!String(request.headers['content-type'] ?? '').includes('json')) throw new Error('only the OTLP JSON encoding is understood here');
    const spans = decodeTraces(JSON.parse(body.toString('utf8')) as ExportRequest);
    this.received += spans.length;
    if (this.keep) this.spans.push(...spans);
    return 200;
  }
}

interface KeyValue {
  key: string;
  value: AnyValue;
}
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      scope?: { name?: string };
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        startTimeUnixNano?: string | number;
        endTimeUnixNano?: string | number;
        attributes?: KeyValue[];
        links?: Array<{ traceId: string; spanId: string; attributes?: KeyValue[] }>;
        events?: Array<{ name: string; attributes?: KeyValue[] }>;
        status?: { code?: number };
      }>;
    }>;
  }>;
}

/** The OTLP/JSON export request's spans, flattened. Ids are hex in the JSON encoding. */
export function decodeTraces(request: ExportRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          service: String(resource['service.name'] ?? ''),
          scope: scopeSpans.scope?.name ?? '',
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ? span.parentSpanId : null,
          name: span.name,
          kind: KINDS[span.kind ?? 0] ?? 'unspecified',
          attributes: attributesOf(span.attributes),
          links: (span.links ?? []).map((link) => ({
            traceId: link.traceId,
            spanId: link.spanId,
            attributes: attributesOf(link.attributes),
          })),
          events: (span.events ?? []).map((event) => ({ name: event.name, attributes: attributesOf(event.attributes) })),
          status: span.status?.code ?? 0,
          startUnixNano: BigInt(span.startTimeUnixNano ?? 0),
          endUnixNano: BigInt(span.endTimeUnixNano ?? 0),
        });
      }
    }
  }
  return spans;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const { key, value } of list ?? []) attributes[key] = valueOf(value);
  return attributes;
}

function valueOf(value: AnyValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return JSON.stringify((value.arrayValue.values ?? []).map(valueOf));
  return null;
}
