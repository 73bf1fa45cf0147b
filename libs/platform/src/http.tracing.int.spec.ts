import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import Fastify, { type FastifyInstance } from 'fastify';
import { setTimeout as delay } from 'node:timers/promises';
import { traceHttpRequests } from './http.tracing.js';

// A service's HTTP spans, on a Fastify server of its own: the spans come from the hook, and the
// handler, which runs once the body is read, sees its request's span as the active one, even when
// the body comes in parts after the request's head.
describe('traceHttpRequests', () => {
  const exporter = new InMemorySpanExporter();
  const sdk = new NodeSDK({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    metricReaders: [],
    logRecordProcessors: [],
    autoDetectResources: false,
  });
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    sdk.start();
    app = Fastify();
    traceHttpRequests(app, true);
    // Registered after the spans' hook, as the front door and the access gate are.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url === '/refused') void reply.code(503).header('retry-after', '1').send({ message: 'busy' });
      else done();
    });
    app.post('/echo/:id', async (request) => {
      await delay(5); // an asynchronous step, as a handler's statements are
      const active = trace.getActiveSpan()?.spanContext();
      return { body: request.body, traceId: active?.traceId, spanId: active?.spanId };
    });
    app.get('/refused', async () => ({ never: true }));
    app.get('/slow', async () => {
      await delay(2_000);
      return { late: true };
    });
    app.get('/health/ready', async () => ({ status: 'ok' }));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    await sdk.shutdown();
  });
  beforeEach(() => exporter.reset());

  const spansOf = async (count: number): Promise<ReadableSpan[]> => {
    const deadline = Date.now() + 5_000;
    while (exporter.getFinishedSpans().length < count && Date.now() < deadline) await delay(10);
    return exporter.getFinishedSpans();
  };

  it("continues the caller's trace, names the span by its route, and is the active span in the handler after the body is read", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const callerSpanId = 'b7ad6b7169203331';
    const response = await fetch(`${url}/echo/42?verbose=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerSpanId}-01` },
      body: JSON.stringify({ seats: 2 }),
    });
    const answer = (await response.json()) as { body: unknown; traceId: string; spanId: string };

    const [span] = await spansOf(1);
    expect(span).toMatchObject({
      name: 'POST /echo/:id',
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/echo/:id',
        'url.path': '/echo/42',
        'url.scheme': 'http',
        'client.address': '127.0.0.1',
        'http.response.status_code': 200,
      },
    });
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(answer).toEqual({ body: { seats: 2 }, traceId, spanId: span.spanContext().spanId });
  });

  it('is the active span in the handler when the body arrives in parts, after the request', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parts = ['{"seats":', '3}'];
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await delay(20);
        const part = parts.shift();
        if (part === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(part));
      },
    });
    const response = await fetch(`${url}/echo/7`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body,
      duplex: 'half',
    } as RequestInit);
    const answer = (await response.json()) as { body: unknown; traceId: string; spanId: string };
    const [span] = await spansOf(1);
    expect(answer).toEqual({ body: { seats: 3 }, traceId, spanId: span.spanContext().spanId });
  });

  it('starts a trace of its own for a request without a traceparent', async () => {
    await fetch(`${url}/echo/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const [span] = await spansOf(1);
    expect(span.parentSpanContext).toBeUndefined();
  });

  it('traces a request a later hook turns away, with its status, as an error when it is a 5xx', async () => {
    const response = await fetch(`${url}/refused`);
    expect(response.status).toBe(503);
    const [span] = await spansOf(1);
    expect(span).toMatchObject({ name: 'GET /refused', attributes: { 'http.response.status_code': 503 } });
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('names a request no route answers by its method alone, with its 404', async () => {
    expect((await fetch(`${url}/nowhere`)).status).toBe(404);
    const [span] = await spansOf(1);
    expect(span).toMatchObject({ name: 'GET', attributes: { 'url.path': '/nowhere', 'http.response.status_code': 404 } });
    expect(span.attributes['http.route']).toBeUndefined();
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('ends the span of a request whose caller went away before the answer, as an error without a status', async () => {
    await expect(fetch(`${url}/slow`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    const [span] = await spansOf(1);
    expect(span.name).toBe('GET /slow');
    expect(span.attributes['http.response.status_code']).toBeUndefined();
    expect(span.status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/before the answer/) });
  });

  it('adds no hook when tracing is off', async () => {
    const untraced = Fastify();
    traceHttpRequests(untraced, false);
    untraced.get('/ping', async () => ({ pong: true }));
    const untracedUrl = await untraced.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await fetch(`${untracedUrl}/ping`)).status).toBe(200);
      // The traced server's next request is the only span: the untraced one made none.
      await fetch(`${url}/refused`);
      expect((await spansOf(1)).map((span) => span.name)).toEqual(['GET /refused']);
    } finally {
      await untraced.close();
    }
  });

  it('does not trace health checks', async () => {
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    // The request after it is traced: had the health check been, its span would have ended first.
    await fetch(`${url}/refused`);
    const spans = await spansOf(1);
    expect(spans.map((span) => span.name)).toEqual(['GET /refused']);
  });
});
