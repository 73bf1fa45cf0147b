import type { ServiceName } from '@boxoffice/contracts';
import type {
  ChannelDepth,
  DeadLetter,
  DeadLetterCount,
  DeadLetterStore,
  OutboxStats,
  RateLimiter,
  Routing,
  Transport,
  TransportName,
} from '@boxoffice/messaging';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CachedSample } from './metrics.sample.js';
import { metricLabels as L, metricNames, type MetricName } from './metrics.names.js';

/** What the gauges read, on scrape: the runtime's transports and relay, and the catalog. */
export interface GaugeSources {
  readonly service: ServiceName;
  /** The catalog, and the names on the brokers of its channels and consumer groups. */
  readonly routing: Routing;
  readonly transports: ReadonlyMap<TransportName, Pick<Transport, 'depth' | 'deadLetters'>>;
  readonly outbox: { stats(): Promise<OutboxStats> };
  /** The command rate limiter, if the service levels its work queue (Billing). */
  readonly limiter?: RateLimiter | null;
  /** Its rate for the whole service, as configured, before this instance took its share. */
  readonly configuredRate?: number | null;
  /** The clock ages are read against, in epoch ms (the brokers' timestamps are). Default Date.now. */
  readonly now?: () => number;
}

/** A channel whose depth one consumer group sees, on the transport that carries it. */
interface Watched {
  readonly system: TransportName;
  readonly transport: Pick<Transport, 'depth' | 'deadLetters'>;
  readonly channel: string;
  readonly group: string;
  /** This service's own consumer: its dead letters are reported here. */
  readonly own: boolean;
}

/** Depth and outbox: read at most once a second, and a scrape waits half a second at most. */
const FAST = { freshMs: 1_000, timeoutMs: 500, staleMs: 10_000 };
/** Dead letters change rarely and cost a call per dead letter queue or topic: every 5 s. */
const SLOW = { freshMs: 5_000, timeoutMs: 500, staleMs: 30_000 };

/**
 * The gauges that need I/O, collected on scrape (prom-client's `collect`) through CachedSample,
 * so Prometheus every second and a dashboard on top cost one reading a second:
 * - the depth of each channel the service consumes (a queue's ready messages, a group's lag on a
 *   topic, per partition where the transport says), and of each work queue it sends commands to
 *   (Checkout reports the charge queue too, so it is seen while Billing is down);
 * - the outbox backlog and the age of its oldest row;
 * - the dead letters of the service's own consumers;
 * - how close unread records and dead letters are to expiry, where the broker says: a group's
 *   lag in time (the age of the oldest record it has not read) beside the channel's retention,
 *   and the age of the oldest dead letter beside its store's retention. A log drops a record
 *   older than its retention, read or not, so the ratio of the two is what an alert watches;
 * - the command rate, configured and this instance's share, and the limiter's waiting.
 */
export class MessagingGauges {
  private readonly watched: Watched[];
  private readonly depths: CachedSample<Array<{ watched: Watched; depth: ChannelDepth }>>;
  private readonly outbox: CachedSample<OutboxStats>;
  private readonly deadLetters: CachedSample<Array<{ watched: Watched; count: DeadLetterCount }>>;
  private readonly stores = new Map<Watched, DeadLetterStore>();

  constructor(
    registry: Registry,
    private readonly sources: GaugeSources,
  ) {
    this.watched = watchedChannels(sources);
    this.depths = new CachedSample(() => this.readDepths(), FAST);
    this.outbox = new CachedSample(() => sources.outbox.stats(), FAST);
    this.deadLetters = new CachedSample(() => this.readDeadLetters(), SLOW);
    this.register(registry);
  }

  private register(registry: Registry): void {
    const registers = [registry];
    const channel = [L.system, L.destination, L.group];
    const { depths, outbox, deadLetters } = this;
    const now = this.sources.now ?? Date.now;
    // Null is "nothing waits": age 0. A broker's clock a little ahead of ours is not a negative age.
    const ageOf = (at: number | null) => (at === null ? 0 : Math.max(0, now() - at) / 1_000);
    new Gauge({
      name: metricNames.channelDepth,
      help: 'Messages waiting on a channel for a consumer group: ready messages of a queue, or the group lag on a topic',
      labelNames: channel,
      registers,
      async collect() {
        this.reset();
        for (const { watched, depth } of (await depths.get()) ?? []) this.set(labelsOf(watched), depth.waiting);
      },
    });
    new Gauge({
      name: metricNames.channelConsumers,
      help: 'Consumers attached to a queue right now, where the transport can tell',
      labelNames: channel,
      registers,
      async collect() {
        this.reset();
        for (const { watched, depth } of (await depths.get()) ?? [])
          if (depth.consumers !== null) this.set(labelsOf(watched), depth.consumers);
      },
    });
    new Gauge({
      name: metricNames.consumerLag,
      help: 'A consumer group lag on one partition: records written and not yet settled by it',
      labelNames: [...channel, L.partition],
      registers,
      async collect() {
        this.reset();
        for (const { watched, depth } of (await depths.get()) ?? []) {
          for (const { partition, waiting } of depth.partitions ?? [])
            this.set({ ...labelsOf(watched), [L.partition]: String(partition) }, waiting);
        }
      },
    });
    new Gauge({
      name: metricNames.consumerLagAge,
      help: 'A consumer group lag in time on one partition or shard: how long ago the oldest record it has not read was written (0 when none waits)',
      labelNames: [...channel, L.partition],
      registers,
      async collect() {
        this.reset();
        for (const { watched, depth } of (await depths.get()) ?? []) {
          for (const { partition, oldestAt } of depth.partitions ?? [])
            if (oldestAt !== undefined) this.set({ ...labelsOf(watched), [L.partition]: String(partition) }, ageOf(oldestAt));
        }
      },
    });
    new Gauge({
      name: metricNames.channelRetention,
      help: 'How long a log channel keeps a record before the broker deletes it, read or not',
      labelNames: [L.system, L.destination],
      registers,
      async collect() {
        this.reset();
        for (const { watched, depth } of (await depths.get()) ?? [])
          if (typeof depth.retentionMs === 'number')
            this.set({ [L.system]: watched.system, [L.destination]: watched.channel }, depth.retentionMs / 1_000);
      },
    });
    // The outbox's four figures, from one reading of its stats.
    const outboxFigures: Array<[MetricName, string, (stats: OutboxStats) => number]> = [
      [metricNames.outboxPending, 'Outbox rows not yet published', (stats) => stats.pending],
      [
        metricNames.outboxOldestAge,
        'How long the oldest unpublished outbox row has waited (0 when none waits)',
        (stats) => stats.oldestPendingAgeMs / 1_000,
      ],
      [
        metricNames.outboxParked,
        'Outbox rows parked after the broker refused them too often (npm run dlq -- outbox list)',
        (stats) => stats.parked,
      ],
      [
        metricNames.outboxOldestParkedAge,
        'How long the oldest parked outbox row has waited for someone (0 when none is parked)',
        (stats) => stats.oldestParkedAgeMs / 1_000,
      ],
    ];
    for (const [name, help, figure] of outboxFigures) {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.reset();
          const stats = await outbox.get();
          if (stats) this.set(figure(stats));
        },
      });
    }
    new Gauge({
      name: metricNames.deadLetters,
      help: "Dead letters waiting in a dead letter queue or topic of this service's consumers",
      labelNames: [...channel, 'store'],
      registers,
      async collect() {
        this.reset();
        for (const { watched, count } of (await deadLetters.get()) ?? [])
          this.set({ ...labelsOf(watched), store: count.store }, count.messages);
      },
    });
    new Gauge({
      name: metricNames.deadLetterOldestAge,
      help: 'How long the oldest dead letter of a store has waited (0 when none waits), where the broker says without taking it',
      labelNames: [...channel, 'store'],
      registers,
      async collect() {
        this.reset();
        for (const { watched, count } of (await deadLetters.get()) ?? [])
          if (count.oldestAt !== undefined) this.set({ ...labelsOf(watched), store: count.store }, ageOf(count.oldestAt));
      },
    });
    new Gauge({
      name: metricNames.deadLetterRetention,
      help: 'How long a dead-letter store keeps a letter before the broker deletes it, replayed or not',
      labelNames: [...channel, 'store'],
      registers,
      async collect() {
        this.reset();
        for (const { watched, count } of (await deadLetters.get()) ?? [])
          if (typeof count.retentionMs === 'number') this.set({ ...labelsOf(watched), store: count.store }, count.retentionMs / 1_000);
      },
    });
    new Gauge({
      name: metricNames.sourceUp,
      help: 'Whether the last reading of a source collected on scrape succeeded (1) or failed (0)',
      labelNames: ['source'],
      registers,
      collect() {
        this.set({ source: 'depth' }, depths.ok ? 1 : 0);
        this.set({ source: 'outbox' }, outbox.ok ? 1 : 0);
        this.set({ source: 'dead_letters' }, deadLetters.ok ? 1 : 0);
      },
    });
    this.registerRate(registry);
  }

  private registerRate(registry: Registry): void {
    const { limiter, configuredRate } = this.sources;
    if (!limiter) return;
    const registers = [registry];
    new Gauge({
      name: metricNames.commandRateConfigured,
      help: 'The command rate configured for the whole service (BILLING_MAX_RATE), shared among its instances',
      registers,
      collect() {
        this.set(configuredRate ?? limiter.ratePerSecond);
      },
    });
    new Gauge({
      name: metricNames.commandRateInstance,
      help: "This instance's share of the command rate now",
      registers,
      collect() {
        this.set(limiter.ratePerSecond);
      },
    });
    new Counter({
      name: metricNames.rateLimiterWait,
      help: "Seconds work waited for the rate limiter's permits, summed over the waiters",
      registers,
      collect() {
        this.reset();
        this.inc(limiter.waitedSeconds);
      },
    });
    new Counter({
      name: metricNames.rateLimiterPermits,
      help: 'Permits the rate limiter handed out, one per message',
      registers,
      collect() {
        this.reset();
        this.inc(limiter.permits);
      },
    });
  }

  private async readDepths(): Promise<Array<{ watched: Watched; depth: ChannelDepth }>> {
    return Promise.all(
      this.watched.map(async (watched) => ({ watched, depth: await watched.transport.depth(watched.channel, watched.group) })),
    );
  }

  private async readDeadLetters(): Promise<Array<{ watched: Watched; count: DeadLetterCount }>> {
    const counts = await Promise.all(
      this.watched
        .filter(({ own }) => own)
        .map(async (watched) => {
          const store = this.storeOf(watched);
          const found = store.counts ? await store.counts() : countByStore(await store.list());
          return found.map((count) => ({ watched, count }));
        }),
    );
    return counts.flat();
  }

  private storeOf(watched: Watched): DeadLetterStore {
    let store = this.stores.get(watched);
    if (!store) {
      store = watched.transport.deadLetters([{ channel: watched.channel, consumers: [watched.group] }]);
      this.stores.set(watched, store);
    }
    return store;
  }
}

function labelsOf({ system, channel, group }: Watched): Record<string, string> {
  return { [L.system]: system, [L.destination]: channel, [L.group]: group };
}

/**
 * For a store that cannot count: its letters counted, and the oldest one's time read from the
 * failure records (when it was parked, or else first failed), where they say.
 */
function countByStore(letters: ReadonlyArray<Pick<DeadLetter, 'store' | 'firstFailureAt' | 'lastFailureAt'>>): DeadLetterCount[] {
  const counts = new Map<string, { messages: number; oldestAt: number | undefined }>();
  for (const { store, firstFailureAt, lastFailureAt } of letters) {
    const count = counts.get(store) ?? { messages: 0, oldestAt: undefined };
    const parkedAt = Date.parse(lastFailureAt ?? firstFailureAt ?? '');
    counts.set(store, {
      messages: count.messages + 1,
      oldestAt: Number.isNaN(parkedAt) ? count.oldestAt : Math.min(parkedAt, count.oldestAt ?? parkedAt),
    });
  }
  return [...counts].map(([store, { messages, oldestAt }]) => ({ store, messages, ...(oldestAt !== undefined ? { oldestAt } : {}) }));
}

/** What the service consumes, with its own group, and the work queues it sends commands to, with their consumers' groups. */
function watchedChannels({ service, routing, transports }: GaugeSources): Watched[] {
  const watched = new Map<string, Watched>();
  const add = (system: TransportName, channel: string, consumer: ServiceName, own: boolean) => {
    const transport = transports.get(system);
    const group = routing.consumerGroupOf(consumer);
    if (transport && !watched.has(`${system} ${channel} ${group}`))
      watched.set(`${system} ${channel} ${group}`, { system, transport, channel, group, own });
  };
  for (const source of routing.sourcesOf(service)) for (const channel of source.channels) add(source.transport, channel, service, true);
  for (const entry of routing.entries.filter((e) => e.publisher === service && e.message.kind === 'command')) {
    for (const consumer of entry.consumers) add(routing.transportOf(entry.message), routing.nameOf(entry.channel), consumer, false);
  }
  return [...watched.values()];
}
