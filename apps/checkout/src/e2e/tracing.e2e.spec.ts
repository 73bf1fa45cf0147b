import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { OtlpTraceSink, type ReceivedSpan } from '@boxoffice/telemetry';
import { TestSmtpServer, waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { CheckoutApi } from './checkout-api.js';

// Tracing through the transactional outbox: the five services export OTLP to a
// receiver inside this spec, as they would to a collector. One purchase must be one trace from
// Checkout's HTTP request to the order's confirmation, across two outboxes, RabbitMQ and Kafka;
// the subscribers' traces of its events, and of a sign-up, are linked to it.
describe('the traces of a purchase and a sign-up', () => {
  const sink = new OtlpTraceSink();
  const system = new TestSystem();
  const inbox = new TestSmtpServer();
  let checkout: CheckoutApi;
  let checkoutProcess: ServiceProcess;

  beforeAll(async () => {
    await sink.start();
    // The batch span processor exports every 200 ms instead of every 5 s, so the spec waits less.
    const traced = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_BSP_SCHEDULE_DELAY: '200' };
    const smtp = await inbox.start();
    const billingPort = await freePort();
    const started = await Promise.all([
      system.start('checkout', { ...traced, BILLING_URL: `http://127.0.0.1:${billingPort}` }),
      // Billing alone records its SQL statements as spans too.
      system.start('billing', {
        ...traced,
        PORT: String(billingPort),
        TRACING_SQL_SPANS: 'on',
        PAYMENT_DECLINE_RATE: '0',
        PAYMENT_LATENCY_MS: '1',
      }),
      system.start('email', { ...traced, SMTP_URL: smtp }),
      system.start('analytics', traced),
      system.start('audit', traced),
    ]);
    checkoutProcess = started[0];
    checkout = new CheckoutApi(checkoutProcess.url);
  }, 120_000);
  afterAll(async () => {
    await system.teardown();
    await Promise.all([inbox.stop(), sink.stop()]);
  });

  const byId = () => new Map(sink.spans.map((span) => [span.spanId, span]));
  /** The span's parent, its parent's parent, ... as far as the recorded spans go. */
  const ancestorsOf = (span: ReceivedSpan, spans = byId()) => {
    const chain: ReceivedSpan[] = [];
    for (let parent = spans.get(span.parentSpanId ?? ''); parent; parent = spans.get(parent.parentSpanId ?? '')) chain.push(parent);
    return chain;
  };
  const find = (predicate: (span: ReceivedSpan) => boolean) => sink.spans.filter(predicate);
  const messageSpan = (service: string, operation: string, type: string) => (span: ReceivedSpan) =>
    span.service === service &&
    span.attributes['messaging.operation.type'] === operation &&
    span.attributes['boxoffice.message.type'] === type;
  const describeSpan = (span: ReceivedSpan) => `${span.service}: ${span.kind} ${span.name} [${span.scope}]`;

  describe('a purchase', () => {
    let orderTrace: string;

    beforeAll(async () => {
      const concertId = await checkout.scheduleConcert(10);
      // Billing learns of the concert through Kafka: order once its batch span (ended after the
      // commit) is exported, so the charge is not retried and the trace has one of each span.
      await waitFor(
        () =>
          find(
            (s) =>
              s.service === 'billing' && /^process .*concerts$/.test(s.name) && s.attributes['messaging.batch.message_count'] !== undefined,
          ),
        (spans) => spans.length > 0,
        { timeoutMs: 60_000, description: 'Billing to take the concert in' },
      );
      const [orderId] = await checkout.placeOrders(concertId, 1);
      await waitFor(
        () => checkout.order(orderId),
        (order) => order.status === 'CONFIRMED',
        { timeoutMs: 60_000, description: 'the order to be confirmed' },
      );
      // Everything up to the confirmation's create span, exported.
      const [created] = await waitFor(
        () => find(messageSpan('checkout', 'create', 'OrderConfirmed')),
        (spans) => spans.length === 1 && find(messageSpan('email', 'process', 'OrderConfirmed')).length > 0,
        { timeoutMs: 30_000, description: "the OrderConfirmed create span and Email's process span to be exported" },
      );
      orderTrace = created.traceId;
    }, 120_000);

    it("is one trace from Checkout's HTTP span through both outboxes, Billing and back to Checkout", async () => {
      const spans = await waitFor(
        () => sink.trace(orderTrace),
        (trace) => trace.some((span) => span.scope.includes('instrumentation-kafkajs') && span.service === 'billing'),
        { timeoutMs: 20_000, description: 'the whole order trace' },
      );
      const one = (predicate: (span: ReceivedSpan) => boolean, what: string) => {
        const found = spans.filter(predicate);
        expect({ what, found: found.map(describeSpan) }).toEqual({ what, found: [expect.any(String)] });
        return found[0];
      };
      // In causal order, each a descendant of the one before it.
      const steps = [
        one((s) => s.service === 'checkout' && s.kind === 'server' && s.parentSpanId === null, "Checkout's HTTP request"),
        one(messageSpan('checkout', 'create', 'ChargeOrder'), 'the outbox create of ChargeOrder'),
        one(messageSpan('checkout', 'send', 'ChargeOrder'), "Checkout's relay sending it"),
        one((s) => s.service === 'checkout' && s.scope.includes('instrumentation-amqplib') && s.kind === 'producer', "amqplib's publish"),
        one(messageSpan('billing', 'process', 'ChargeOrder'), "Billing's process of the charge"),
        one(messageSpan('billing', 'create', 'PaymentCaptured'), 'the payment result, created in the outbox'),
        one(messageSpan('billing', 'send', 'PaymentCaptured'), "Billing's relay sending it"),
        one((s) => s.service === 'billing' && s.scope.includes('instrumentation-kafkajs') && s.kind === 'producer', "kafkajs's send"),
        one(messageSpan('checkout', 'process', 'PaymentCaptured'), "Checkout's process of the payment result"),
        one(messageSpan('checkout', 'create', 'OrderConfirmed'), 'the confirmation, created in the outbox'),
      ];
      const all = byId();
      for (let i = 1; i < steps.length; i++) {
        expect({ span: describeSpan(steps[i]), under: ancestorsOf(steps[i], all).map(describeSpan) }).toEqual({
          span: describeSpan(steps[i]),
          under: expect.arrayContaining([describeSpan(steps[i - 1])]),
        });
      }
      expect(steps[0].attributes['http.request.method'] ?? steps[0].attributes['http.method']).toBe('POST');
      const processCharge = steps[4];
      expect(processCharge).toMatchObject({
        kind: 'consumer',
        attributes: expect.objectContaining({
          'messaging.system': 'rabbitmq',
          'messaging.operation.name': 'process',
          'messaging.destination.name': expect.stringMatching(/charge-order$/),
          'messaging.consumer.group.name': expect.stringMatching(/billing$/),
          'messaging.message.id': expect.any(String),
        }),
      });
    });

    it("gives each batch one process span with a link per message and the batch's size", async () => {
      const charge = find(messageSpan('billing', 'process', 'ChargeOrder'))[0];
      const batches = find(
        (s) =>
          s.service === 'billing' &&
          s.scope === '@boxoffice/telemetry' &&
          s.attributes['messaging.batch.message_count'] !== undefined &&
          s.links.some((l) => l.traceId === orderTrace),
      );
      expect(batches).toHaveLength(1);
      expect(batches[0]).toMatchObject({
        kind: 'consumer',
        name: expect.stringMatching(/^process .*charge-order$/),
        attributes: expect.objectContaining({ 'messaging.batch.message_count': 1 }),
      });
      // A command's own span continues the message's trace; the batch span is a trace of its own,
      // linked to each message.
      expect(batches[0].traceId).not.toBe(orderTrace);
      expect(charge.parentSpanId).not.toBe(batches[0].spanId);
      expect(batches[0].links).toEqual([
        expect.objectContaining({ traceId: orderTrace, attributes: { 'messaging.message.id': charge.attributes['messaging.message.id'] } }),
      ]);
    });

    it('gives Email, Analytics and Audit traces of their own, each linked to the order trace', async () => {
      const processes = await waitFor(
        () =>
          find(
            (s) =>
              ['email', 'analytics', 'audit'].includes(s.service) &&
              s.attributes['boxoffice.message.type'] === 'OrderConfirmed' &&
              s.attributes['messaging.operation.type'] === 'process',
          ),
        (found) => new Set(found.map((s) => s.service)).size === 3,
        { timeoutMs: 20_000, description: 'the subscribers to process OrderConfirmed' },
      );
      const all = byId();
      for (const span of processes) {
        expect(span.traceId).not.toBe(orderTrace);
        const linked = span.links.map((link) => all.get(link.spanId));
        expect(linked.map((target) => target?.traceId)).toContain(orderTrace);
      }
    });
  });

  describe('a sign-up', () => {
    it("gives Email, Analytics and Audit traces of their own, linked to Checkout's", async () => {
      const response = await fetch(`${checkoutProcess.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `${randomUUID()}@example.com`, name: 'Ada' }),
      });
      expect(response.status).toBe(202);
      const { userId } = (await response.json()) as { userId: string };
      const [created] = await waitFor(
        () => find(messageSpan('checkout', 'create', 'UserRegistered')),
        (spans) => spans.length === 1,
        {
          timeoutMs: 20_000,
          description: 'the UserRegistered create span',
        },
      );
      expect(ancestorsOf(created).map(describeSpan).at(-1)).toMatch(/^checkout: server /);
      const processes = await waitFor(
        () =>
          find(messageSpan('email', 'process', 'UserRegistered')).concat(
            find(messageSpan('analytics', 'process', 'UserRegistered')),
            find(messageSpan('audit', 'process', 'UserRegistered')),
          ),
        (found) => found.length === 3,
        { timeoutMs: 30_000, description: 'the three subscribers to process the sign-up' },
      );
      const all = byId();
      for (const span of processes) {
        expect(span.traceId).not.toBe(created.traceId);
        expect(span.links.map((link) => all.get(link.spanId)?.traceId)).toContain(created.traceId);
      }
      expect(userId).toEqual(expect.any(String));
    });
  });

  describe('a synchronous purchase', () => {
    it("is one trace on the synchronous path: Billing's HTTP span of the charge under Checkout's", async () => {
      // Billing learns of a concert through Kafka, and answers a charge for one it does not know
      // 503: the purchase goes out once Billing's batch of concerts (ended after its commit) is in.
      const concertBatches = () =>
        find(
          (s) =>
            s.service === 'billing' && /^process .*concerts$/.test(s.name) && s.attributes['messaging.batch.message_count'] !== undefined,
        ).length;
      const before = concertBatches();
      const concertId = await checkout.scheduleConcert(10);
      await waitFor(concertBatches, (count) => count > before, { timeoutMs: 30_000, description: 'Billing to take the concert in' });
      const response = await fetch(`${checkoutProcess.url}/orders/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ concertId, quantity: 1, customerEmail: 'sync@example.com' }),
      });
      expect({ status: response.status, order: await response.json() }).toMatchObject({ status: 201, order: { status: 'CONFIRMED' } });
      const [charge] = await waitFor(
        () => find((s) => s.service === 'billing' && s.kind === 'server' && s.name === 'POST /charges'),
        (spans) => spans.length > 0,
        { timeoutMs: 10_000, description: "Billing's span of POST /charges" },
      );
      await waitFor(
        () => ancestorsOf(charge).map(describeSpan),
        (chain) => chain.some((line) => line.startsWith('checkout: server POST /orders/sync')),
        { timeoutMs: 10_000, description: "Checkout's span of POST /orders/sync, above Billing's" },
      );
    });
  });

  it('records SQL statements as spans only where TRACING_SQL_SPANS=on: Billing’s, inside its spans, and no other service’s', async () => {
    const statements = await waitFor(
      () => find((span) => span.scope.includes('instrumentation-pg')),
      (spans) => spans.some((span) => span.service === 'billing'),
      { timeoutMs: 10_000, description: "Billing's statement spans to be exported" },
    );
    expect(new Set(statements.map((span) => span.service))).toEqual(new Set(['billing']));
    // Each inside a request's or a message's span (requireParentSpan): none is a trace of its own.
    expect(statements.filter((span) => !span.parentSpanId)).toEqual([]);
  });

  it('has every link of every span point at a span that was recorded', async () => {
    const dangling = () => {
      const all = byId();
      return sink.spans.flatMap((span) =>
        span.links.filter((link) => !all.has(link.spanId)).map((link) => `${describeSpan(span)} -> ${link.traceId}/${link.spanId}`),
      );
    };
    // The last spans may still be in a service's export buffer.
    await expect(
      waitFor(dangling, (links) => links.length === 0, { timeoutMs: 10_000, description: 'every linked span to be exported' }),
    ).resolves.toEqual([]);
    expect(sink.spans.filter((span) => span.links.length > 0).length).toBeGreaterThan(5);
  });
});
