import { isTracing } from '@boxoffice/telemetry';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Health checks and scrapes are polled every second or so: noise in every trace search. */
const UNTRACED = /^\/(health|metrics)\b/;

/**
 * A SERVER span for every HTTP request a service answers, named by its route (`POST /orders`),
 * from its arrival to the end of its answer, with the HTTP semantic conventions' attributes. It
 * is the root of a purchase's or a sign-up's trace, or continues the caller's when the request
 * carries its context (`traceparent`, and whatever else OTEL_PROPAGATORS names).
 *
 * One Fastify hook and one listener a request, registered before every other hook, so that a
 * request the front door or the access gate turns away is traced too; the rest of the request
 * (the other hooks, the body's reading, the handler, its outbox rows and log lines) runs in the
 * span's context. A generic HTTP instrumentation, which wraps node:http's every request and
 * answer, cost the front door more than the rest of tracing together (docs/observability.md).
 */
export function traceHttpRequests(fastify: FastifyInstance, tracing = isTracing()): void {
  if (!tracing) return;
  const tracer = trace.getTracer('@boxoffice/platform');
  fastify.addHook('onRequest', (request, reply, done) => {
    if (UNTRACED.test(request.url)) return done();
    const route = request.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      { kind: SpanKind.SERVER, attributes: requestAttributes(request, route) },
      parent,
    );
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'the connection closed before the answer was sent' });
      } else {
        const status = reply.raw.statusCode;
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setAttribute('error.type', String(status)).setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    });
    context.with(trace.setSpan(parent, span), done);
  });
}

function requestAttributes(request: FastifyRequest, route: string | undefined): Attributes {
  return {
    'http.request.method': request.method,
    'url.scheme': request.protocol,
    'url.path': request.url.split('?', 1)[0],
    ...(route ? { 'http.route': route } : {}),
    'client.address': request.ip,
    ...(request.headers['user-agent'] ? { 'user_agent.original': request.headers['user-agent'] } : {}),
  };
}
