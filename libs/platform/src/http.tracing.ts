import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { isTracing } from './telemetry.state.js';
import { contextOf } from './trace-context.js';

/** Health checks and scrapes are polled every second or so: noise in every trace search. */
const UNTRACED = /^\/(health|metrics)\b/;

/**
 * A SERVER span for every HTTP request a service answers, the root of a purchase's or a sign-up's
 * trace (or the child of the caller's, when the request carries a `traceparent`), named
 * `POST /orders` and ending when the answer is sent, with its status.
 *
 * These were OpenTelemetry's HTTP instrumentation's spans. It wraps node:http's server and every
 * request and answer in it, and on the front door that cost more than the rest of tracing
 * together: `BENCH_TRACING=compare npm run bench:ticket-sale` kept 0.869 and 0.879 of the accept
 * rate with it, and 0.983 with no HTTP spans at all. Here a request is a span, a few attributes and
 * one listener, in one Fastify hook, registered before every other, so that a request the front
 * door or the access gate turns away is traced too.
 */
export function traceHttpRequests(fastify: FastifyInstance): void {
  if (!isTracing()) return;
  const tracer = trace.getTracer('@boxoffice/telemetry');
  fastify.addHook('onRequest', (request, reply, done) => {
    if (UNTRACED.test(request.url)) return done();
    const route = request.routeOptions.url;
    const header = request.headers.traceparent;
    const parent = contextOf(typeof header === 'string' ? header : undefined, ROOT_CONTEXT);
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?', 1)[0],
          ...(route ? { 'http.route': route } : {}),
        },
      },
      parent,
    );
    reply.raw.once('close', () => {
      if (reply.raw.headersSent) {
        span.setAttribute('http.response.status_code', reply.raw.statusCode);
        if (reply.raw.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      } else {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'the connection closed before an answer' });
      }
      span.end();
    });
    // The rest of the request runs in the span's context: the other hooks, the body's reading and
    // the handler, whose outbox rows and log lines carry its trace.
    context.with(trace.setSpan(parent, span), done);
  });
}
