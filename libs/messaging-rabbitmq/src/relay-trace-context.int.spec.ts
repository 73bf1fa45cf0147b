import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { context, trace, type Tracer } from '@opentelemetry/api';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { ChargeOrder } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  EnvelopeFactory,
  Outbox,
  OutboxRelay,
  Outcome,
  PgTransactionRunner,
  Routing,
  silentLogger,
  type Publisher,
  type SqlExecutor,
} from '@boxoffice/messaging';
import { inTraceContextOf, MessagingTracing, TracedMessageSender } from '@boxoffice/telemetry';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { connect, deleteTopology, fastRetry, rabbitMqUrl, testSource, waitFor, type TestSource } from '../test/test-broker.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { publishOptionsFor } from './rabbitmq.message.js';
import { declareCommandExchange } from './rabbitmq.topology.js';
import { RabbitMqTransport } from './rabbitmq.transport.js';

// The trap: the amqplib instrumentation writes ITS publish span into a message's headers,
// under whatever context is active. The outbox relay publishes rows that many requests wrote, from
// a context of its own, so a relay that only copies the stored traceparent into the headers has
// it overwritten, and the consumer continues the relay's trace, not the request's. This spec runs
// a request's outbox write, the relay and a consumer with amqplib instrumented, once with the
// relay's publisher restoring each message's stored context, once without.
describe("the outbox relay and the message's stored trace context", () => {
  const exporter = new InMemorySpanExporter();
  const routing = new Routing();
  const sdk = new NodeSDK({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    metricReaders: [],
    logRecordProcessors: [],
    autoDetectResources: false,
  });
  let tracer: Tracer;
  let instrumentation: AmqplibInstrumentation;
  let db: TestDatabase;
  let connection: RabbitMqConnection;
  let source: TestSource;
  let transport: RabbitMqTransport;
  let relay: OutboxRelay | null = null;

  beforeAll(async () => {
    sdk.start();
    tracer = trace.getTracer('relay-trace-context.int.spec');
    db = await createTestDatabase('relay_trace', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    connection = await connect('relay-trace-context');
    // Under Jest's module registry the loader hooks do not see amqplib: patch the classes the
    // adapter's channels are made of, as the hooks do in a service (its channel_model module).
    const confirmChannel = await connection.createConfirmChannel();
    const ConfirmChannel = Object.getPrototypeOf(confirmChannel) as object;
    const model = {
      ConfirmChannel: { prototype: ConfirmChannel },
      Channel: { prototype: Object.getPrototypeOf(ConfirmChannel) as object },
    };
    await confirmChannel.close();
    instrumentation = new AmqplibInstrumentation();
    instrumentation.setTracerProvider(trace.getTracerProvider());
    (instrumentation as unknown as { patchChannelModel(exports: unknown, version: string): void }).patchChannelModel(model, '0.10');
  });
  afterAll(async () => {
    instrumentation.disable();
    await connection.close();
    await db.drop();
    await sdk.shutdown();
  });
  beforeEach(async () => {
    source = testSource('relay-trace');
    transport = new RabbitMqTransport({
      url: rabbitMqUrl,
      name: 'relay-trace-context',
      exchange: source.exchange,
      retryPolicy: fastRetry,
      publishUnder: inTraceContextOf,
      reconnectInitialDelayMs: 50,
    });
    await transport.connect();
    exporter.reset();
  });
  afterEach(async () => {
    await relay?.stop();
    relay = null;
    await transport.close();
    await deleteTopology(connection, source);
    await db.pool.query('TRUNCATE outbox_message, inbox_message');
  });

  /**
   * A request that writes a ChargeOrder to the outbox (a create span under the request's), the
   * relay publishing through `publisher`, and Billing's consumer, traced; resolves with the
   * request's span and the consumer's process span of the message.
   */
  async function purchase(publisher: (transport: RabbitMqTransport) => Publisher) {
    const tracing = new MessagingTracing({ service: 'billing', routing });
    const runner = new PgTransactionRunner(db.pool);
    const handled: string[] = [];
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'billing',
      handlers: [{ message: ChargeOrder, handler: { handle: async (m) => (handled.push(m.id), Outcome.done()) } }],
      database: runner,
      retryPolicy: fastRetry,
      observer: tracing.consumer('rabbitmq', 'billing'),
    });
    const consumer = transport.consumer({
      consumer: 'billing',
      channels: [source.queue],
      pipeline,
      batch: { maxMessages: 10, maxWaitMs: 5 },
      concurrency: 1,
    });
    await consumer.start();
    relay = new OutboxRelay(db.pool, [publisher(transport)], { pollIntervalMs: 200, logger: silentLogger });
    await relay.start();

    const sender = new TracedMessageSender(new EnvelopeFactory('checkout'), routing);
    const request = tracer.startSpan('POST /orders');
    const created = await context.with(trace.setSpan(context.active(), request), async () => {
      const message = sender.entry(ChargeOrder, {
        orderId: randomUUID(),
        concertId: randomUUID(),
        quantity: 1,
        customerEmail: 'ada@example.com',
      });
      await runner.$transaction((tx) =>
        new Outbox().addMany(tx, [{ ...message, destination: { transport: 'rabbitmq', channel: source.queue, key: message.envelope.id } }]),
      );
      return message.envelope;
    });
    request.end();

    await waitFor(
      () => handled,
      (ids) => ids.includes(created.id),
      { description: 'Billing to handle the charge' },
    );
    await consumer.stop();
    const spans = exporter.getFinishedSpans();
    const processSpan = spans.find(
      (s) => s.attributes['messaging.operation.type'] === 'process' && s.attributes['messaging.message.id'] === created.id,
    );
    expect(processSpan).toBeDefined();
    return { request, spans, processSpan: processSpan! };
  }

  describe('when the relay publishes each message under the context stored with it', () => {
    it("continues the request's trace through create, send, amqplib's publish and the consumer", async () => {
      const { request, spans, processSpan } = await purchase((t) => tracedPublisher(t));
      const traceId = request.spanContext().traceId;
      expect(processSpan.spanContext().traceId).toBe(traceId);
      const chain = ancestry(processSpan, spans).map((s) => s.name);
      expect(chain).toEqual([`publish ${source.exchange}`, `send ${source.queue}`, 'create billing.charge-order', 'POST /orders']);
    });
  });

  describe('when the relay only copies the stored traceparent into the headers', () => {
    it("splits the trace in two: amqplib publishes under the relay's context and overwrites it", async () => {
      const { request, spans, processSpan } = await purchase((t) => headerCopyingPublisher(t, source));
      expect(processSpan.spanContext().traceId).not.toBe(request.spanContext().traceId);
      const chain = ancestry(processSpan, spans).map((s) => s.name);
      expect(chain).toEqual([`publish ${source.exchange}`]); // a root of its own: the relay's
      expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBeGreaterThanOrEqual(2);
    });
  });

  function tracedPublisher(inner: RabbitMqTransport): Publisher {
    return new MessagingTracing({ service: 'checkout', routing }).publisher(inner);
  }
});

/** The span's parent, its parent, ... within the recorded spans. */
function ancestry(span: ReadableSpan, spans: ReadonlyArray<ReadableSpan>): ReadableSpan[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const chain: ReadableSpan[] = [];
  for (let parent = byId.get(span.parentSpanContext?.spanId ?? ''); parent; parent = byId.get(parent.parentSpanContext?.spanId ?? ''))
    chain.push(parent);
  return chain;
}

/**
 * What a relay does without restoring the stored context: the adapter's building blocks (the
 * envelope's traceparent copied into the headers, a confirmed publish) called from the relay's
 * own context.
 */
function headerCopyingPublisher(transport: RabbitMqTransport, source: TestSource): Publisher {
  let sender: Promise<ConfirmedSender> | null = null;
  return {
    name: transport.name,
    async publish(messages) {
      sender ??= transport.connection.createConfirmChannel().then(async (channel) => {
        await declareCommandExchange(channel, source.exchange);
        return new ConfirmedSender(channel, silentLogger);
      });
      const open = await sender;
      await Promise.all(
        messages.map(({ envelope, destination }) =>
          open.send(source.exchange, destination.channel, Buffer.from(JSON.stringify(envelope)), publishOptionsFor(envelope)),
        ),
      );
    },
  };
}
