import { describe, expect, it } from '@jest/globals';
import { queues, topics } from '@boxoffice/contracts';
import {
  Outcome,
  PublishIncomplete,
  RateLimiter,
  Routing,
  type AnyHandler,
  type ChannelDepth,
  type DeadLetter,
  type DeadLetterCount,
  type DeadLetterStore,
  type Transport,
} from '@boxoffice/messaging';
import { MessagingGauges } from './metrics.gauges.js';
import { MessagingInstruments } from './metrics.instruments.js';
import { metricNames } from './metrics.names.js';
import { MetricsRegistry } from './metrics.registry.js';

type Fake = Pick<Transport, 'depth' | 'deadLetters'>;

/** A transport that answers from a table: depth per channel, dead letters per channel (a count, or all a store says). */
function fakeTransport(
  depths: Record<string, Omit<ChannelDepth, 'channel' | 'consumer'>>,
  deadLetters: Record<string, number | Omit<DeadLetterCount, 'store'>> = {},
): Fake {
  return {
    depth: async (channel, consumer) => ({ channel, consumer, ...(depths[channel] ?? { waiting: 0, consumers: null }) }),
    deadLetters: (scope) =>
      ({
        counts: async () =>
          scope
            .filter(({ channel }) => deadLetters[channel])
            .map(({ channel }) => {
              const count = deadLetters[channel];
              return { store: `${channel}.dlq`, ...(typeof count === 'number' ? { messages: count } : count) };
            }),
      }) as unknown as DeadLetterStore,
  };
}

/** What the gauges' clock reads: ages are taken against it. */
const NOW = Date.parse('2026-12-01T12:00:00Z');
const DAY_MS = 24 * 3_600_000;

/** One sample's value, as Prometheus would read it from the exposition text. */
async function valueOf(metrics: MetricsRegistry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  const { values } = await metric!.get();
  const found = values.find((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value));
  return found?.value;
}

function billingGauges(metrics: MetricsRegistry, limiter = new RateLimiter(20)) {
  return new MessagingGauges(metrics.registry, {
    service: 'billing',
    routing: new Routing(),
    transports: new Map([
      ['rabbitmq', fakeTransport({ [queues.chargeOrder]: { waiting: 42, consumers: 4 } }, { [queues.chargeOrder]: 3 })],
      [
        'kafka',
        fakeTransport({
          [topics.concerts]: {
            waiting: 5,
            consumers: null,
            partitions: [
              { partition: 0, waiting: 2 },
              { partition: 1, waiting: 3 },
            ],
          },
        }),
      ],
    ]),
    outbox: { stats: async () => ({ pending: 12, oldestPendingAgeMs: 1_500, parked: 2, oldestParkedAgeMs: 60_000 }) },
    limiter,
    configuredRate: 20,
  });
}

describe('the metrics a service exports', () => {
  it('registers exactly the messaging names of the catalog the dashboard is checked against', async () => {
    const metrics = new MetricsRegistry('billing');
    new MessagingInstruments(metrics.registry);
    billingGauges(metrics);
    const ours = (await metrics.registry.getMetricsAsJSON())
      .map(({ name }) => name)
      .filter((name) => name.startsWith('messaging_') || name.startsWith('boxoffice_'));
    // Checkout's own: order.metrics.ts and the front door's accept-limit.ts.
    const messaging = Object.values(metricNames).filter(
      (name) => !name.startsWith('boxoffice_orders_') && !name.startsWith('boxoffice_accept_'),
    );
    expect(ours.sort()).toEqual([...messaging].sort());
  });

  it('reads depth, lag per partition, outbox, dead letters and the command rate on scrape', async () => {
    const metrics = new MetricsRegistry('billing');
    billingGauges(metrics);
    const chargeQueue = {
      messaging_system: 'rabbitmq',
      messaging_destination_name: queues.chargeOrder,
      messaging_consumer_group_name: 'billing',
    };
    expect(await valueOf(metrics, metricNames.channelDepth, chargeQueue)).toBe(42);
    expect(await valueOf(metrics, metricNames.channelConsumers, chargeQueue)).toBe(4);
    expect(
      await valueOf(metrics, metricNames.consumerLag, {
        messaging_destination_name: topics.concerts,
        messaging_destination_partition_id: '1',
      }),
    ).toBe(3);
    expect(await valueOf(metrics, metricNames.outboxPending)).toBe(12);
    expect(await valueOf(metrics, metricNames.outboxOldestAge)).toBe(1.5);
    expect(await valueOf(metrics, metricNames.outboxParked)).toBe(2);
    expect(await valueOf(metrics, metricNames.outboxOldestParkedAge)).toBe(60);
    expect(await valueOf(metrics, metricNames.deadLetters, { ...chargeQueue, store: `${queues.chargeOrder}.dlq` })).toBe(3);
    expect(await valueOf(metrics, metricNames.commandRateConfigured)).toBe(20);
    expect(await valueOf(metrics, metricNames.sourceUp, { source: 'depth' })).toBe(1);
    expect(await metrics.text()).toContain(
      `boxoffice_channel_depth_messages{messaging_system="rabbitmq",messaging_destination_name="${queues.chargeOrder}",messaging_consumer_group_name="billing",service="billing"} 42`,
    );
  });

  it("reports the work queue Checkout sends to, with Billing's group, so it is seen while Billing is down", async () => {
    const metrics = new MetricsRegistry('checkout');
    new MessagingGauges(metrics.registry, {
      service: 'checkout',
      routing: new Routing({ namespace: 'ns' }),
      transports: new Map([
        ['rabbitmq', fakeTransport({ 'ns.billing.charge-order': { waiting: 7, consumers: 0 } }, { 'ns.billing.charge-order': 1 })],
        ['kafka', fakeTransport({})],
      ]),
      outbox: { stats: async () => ({ pending: 0, oldestPendingAgeMs: 0, parked: 0, oldestParkedAgeMs: 0 }) },
    });
    expect(
      await valueOf(metrics, metricNames.channelDepth, {
        messaging_destination_name: 'ns.billing.charge-order',
        messaging_consumer_group_name: 'ns.billing',
      }),
    ).toBe(7);
    // Billing's dead letters are Billing's to report.
    expect(await valueOf(metrics, metricNames.deadLetters, { messaging_destination_name: 'ns.billing.charge-order' })).toBeUndefined();
  });

  it('counts the waiting the rate limiter imposed', async () => {
    const metrics = new MetricsRegistry('billing');
    let now = 0;
    const limiter = new RateLimiter(
      10,
      () => now,
      async () => {},
    );
    billingGauges(metrics, limiter);
    await limiter.acquire(5);
    await limiter.acquire(5);
    now = 100;
    expect(await valueOf(metrics, metricNames.rateLimiterPermits)).toBe(10);
    expect(await valueOf(metrics, metricNames.rateLimiterWait)).toBeCloseTo(0.5);
  });

  describe('how close unread records and dead letters are to expiry', () => {
    /** Billing on a log whose group is 90 s behind on one partition, with a dead letter parked an hour ago. */
    function expiringGauges(metrics: MetricsRegistry, deadLetters: Fake['deadLetters'] | null = null) {
      const kafka = fakeTransport(
        {
          [topics.concerts]: {
            waiting: 6,
            consumers: null,
            retentionMs: 7 * DAY_MS,
            partitions: [
              { partition: 0, waiting: 2, oldestAt: NOW - 90_000 },
              { partition: 1, waiting: 0, oldestAt: null },
              // A transport that could not read this partition's record time says nothing.
              { partition: 2, waiting: 4 },
            ],
          },
        },
        { [topics.concerts]: { messages: 2, oldestAt: NOW - 3_600_000, retentionMs: 14 * DAY_MS } },
      );
      return new MessagingGauges(metrics.registry, {
        service: 'billing',
        routing: new Routing(),
        transports: new Map([
          // A work queue: no retention, and a store that counts without saying how old its letters are.
          ['rabbitmq', fakeTransport({ [queues.chargeOrder]: { waiting: 0, consumers: 1 } }, { [queues.chargeOrder]: 3 })],
          ['kafka', deadLetters ? { ...kafka, deadLetters } : kafka],
        ]),
        outbox: { stats: async () => ({ pending: 0, oldestPendingAgeMs: 0, parked: 0, oldestParkedAgeMs: 0 }) },
        now: () => NOW,
      });
    }
    const concerts = { messaging_system: 'kafka', messaging_destination_name: topics.concerts };

    it("reads a group's lag in time per partition, 0 where it is caught up, beside the channel's retention", async () => {
      const metrics = new MetricsRegistry('billing');
      expiringGauges(metrics);
      const lagOf = (partition: string) =>
        valueOf(metrics, metricNames.consumerLagAge, { ...concerts, messaging_destination_partition_id: partition });
      expect(await lagOf('0')).toBe(90);
      expect(await lagOf('1')).toBe(0);
      expect(await lagOf('2')).toBeUndefined();
      expect(await valueOf(metrics, metricNames.channelRetention, concerts)).toBe(7 * 24 * 3_600);
      expect(await valueOf(metrics, metricNames.channelRetention, { messaging_destination_name: queues.chargeOrder })).toBeUndefined();
    });

    it("reads the age of a store's oldest dead letter beside the store's retention, where the broker says", async () => {
      const metrics = new MetricsRegistry('billing');
      expiringGauges(metrics);
      const store = { ...concerts, store: `${topics.concerts}.dlq` };
      expect(await valueOf(metrics, metricNames.deadLetterOldestAge, store)).toBe(3_600);
      expect(await valueOf(metrics, metricNames.deadLetterRetention, store)).toBe(14 * 24 * 3_600);
      // RabbitMQ counts its dead letters but cannot say how old they are without taking one.
      const chargeDlq = { messaging_destination_name: queues.chargeOrder };
      expect(await valueOf(metrics, metricNames.deadLetters, chargeDlq)).toBe(3);
      expect(await valueOf(metrics, metricNames.deadLetterOldestAge, chargeDlq)).toBeUndefined();
      expect(await valueOf(metrics, metricNames.deadLetterRetention, chargeDlq)).toBeUndefined();
    });

    it('takes the oldest letter of a store that cannot count from the failure records it lists', async () => {
      const metrics = new MetricsRegistry('billing');
      const letter = (lastFailureAt: string | null, firstFailureAt: string | null) =>
        ({ store: 'concerts.dlt', firstFailureAt, lastFailureAt }) as DeadLetter;
      expiringGauges(
        metrics,
        () =>
          ({
            list: async () => [
              letter('2026-12-01T11:50:00Z', '2026-12-01T11:49:00Z'),
              letter(null, '2026-12-01T11:30:00Z'),
              letter(null, null),
            ],
          }) as unknown as DeadLetterStore,
      );
      const store = { ...concerts, store: 'concerts.dlt' };
      expect(await valueOf(metrics, metricNames.deadLetters, store)).toBe(3);
      expect(await valueOf(metrics, metricNames.deadLetterOldestAge, store)).toBe(30 * 60);
    });
  });

  describe("a consumer pipeline's observer", () => {
    it('counts each message by its outcome and the inbox duplicates', async () => {
      const metrics = new MetricsRegistry('billing');
      const instruments = new MessagingInstruments(metrics.registry);
      const batch = instruments.consumer({ system: 'rabbitmq', group: 'billing' }).batchBegun('q', []);
      batch.batchEnded({
        settlements: [
          { kind: 'ack', as: 'done' },
          { kind: 'ack', as: 'done' },
          { kind: 'ack', as: 'duplicate' },
          { kind: 'dead-letter', attempts: 1, reason: 'poison', headers: {}, messageId: null },
        ],
        durationMs: 3,
      });
      const labels = { messaging_destination_name: 'q', messaging_consumer_group_name: 'billing' };
      expect(await valueOf(metrics, metricNames.consumedMessages, { ...labels, outcome: 'done' })).toBe(2);
      expect(await valueOf(metrics, metricNames.consumedMessages, { ...labels, outcome: 'dead_letter' })).toBe(1);
      expect(await valueOf(metrics, metricNames.inboxDuplicates, labels)).toBe(1);
      expect(await valueOf(metrics, `${metricNames.batchDuration}`, { ...labels })).toBeDefined();
    });

    it('times a handler once per call, labelled with the class the service registered', async () => {
      const metrics = new MetricsRegistry('billing');
      const instruments = new MessagingInstruments(metrics.registry);
      class ChargeOrderHandler {
        handle = async () => Outcome.done();
      }
      const handler = new ChargeOrderHandler() as unknown as AnyHandler;
      const batch = instruments.consumer({ system: 'kafka', group: 'billing' }).batchBegun('topic', []);
      batch.handlerCalled!({ source: 'topic', handler, messages: [] })!.ended({ outcomes: [Outcome.done()], durationMs: 2 });
      const text = await metrics.text();
      expect(text).toMatch(/messaging_process_duration_seconds_count\{[^}]*messaging_destination_name="topic"[^}]*\} 1/);
      expect(text).toMatch(/messaging_process_duration_seconds_count\{[^}]*handler="ChargeOrderHandler"[^}]*\} 1/);
    });
  });
});

describe("the relay's publish metrics", () => {
  it('count the messages a broker took of a publish it took only in part', async () => {
    const metrics = new MetricsRegistry('checkout');
    const instruments = new MessagingInstruments(metrics.registry);
    const [publisher] = instruments.publishers([
      {
        name: 'rabbitmq',
        publish: async (messages) => {
          throw new PublishIncomplete('test', new Map([[1, { reason: 'unroutable', refused: true }]]), messages.length);
        },
      },
    ]);
    const message = (channel: string) => ({ envelope: {} as never, destination: { transport: 'rabbitmq', channel, key: 'k' } });
    await expect(publisher.publish([message('a'), message('a'), message('b')])).rejects.toBeInstanceOf(PublishIncomplete);
    expect(await valueOf(metrics, metricNames.sentMessages, { messaging_destination_name: 'a' })).toBe(1);
    expect(await valueOf(metrics, metricNames.sentMessages, { messaging_destination_name: 'b' })).toBe(1);
  });
});
