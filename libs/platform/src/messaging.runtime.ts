import type { ServiceName } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  defaultRetryPolicy,
  observeAll,
  OutboxRelay,
  PgTransactionRunner,
  Routing,
  shareRate,
  untilStopped,
  type RateLimiter,
  type AnyHandler,
  type BatchSettings,
  type ChannelDepth,
  type ConsumerState,
  type DeadLetterStore,
  type HandlerRegistration,
  type Logger,
  type MessageSender,
  type PipelineCounters,
  type RetryPolicy,
  type SqlExecutor,
  type TransactionRunner,
  type Transport,
  type TransportConsumer,
  type TransportName,
} from '@boxoffice/messaging';
import { StatementNames } from '@boxoffice/database';
import { MessagingTracing } from '@boxoffice/telemetry';
import pg from 'pg';
import type { BrokerSettings } from './broker.settings.js';
import type { MessagingInstruments } from './metrics.instruments.js';
import { ShutdownBudget } from './shutdown.budget.js';
import { createTransport, type TransportSetup } from './transport.factory.js';

export interface MessagingRuntimeOptions {
  readonly service: ServiceName;
  readonly databaseUrl: string;
  readonly brokers: BrokerSettings;
  /** The service's `<service>.handlers.ts`: message type -> handler instance. */
  readonly handlers: ReadonlyArray<HandlerRegistration<AnyHandler<SqlExecutor>>>;
  /** The service's Prisma client: a stream's checkpoints and leases are read through it. */
  readonly database: TransactionRunner<SqlExecutor> & SqlExecutor;
  readonly sender: MessageSender;
  /** The deployment's routing: its transport choice and its namespace (BrokerSettings), over the catalog. */
  readonly routing: Routing;
  readonly batch?: Partial<BatchSettings>;
  /** Batches in flight per transport: channels on a queue, partitions of a topic. */
  readonly concurrency?: Partial<Record<TransportName, number>>;
  /**
   * Load levelling of the service's work queue: the limiter's rate is for the whole service,
   * shared among its instances (see `shareRate`). Pass the same limiter to any other door to the
   * same work, so the database sees one rate whichever way the work comes in.
   */
  readonly commandRate?: RateLimiter;
  readonly retryPolicy?: RetryPolicy;
  /** Topic partitions (Kafka) for the topics this service creates. */
  readonly partitions?: number;
  /** Times and counts the pipelines, handler calls and publishes for /metrics (metrics.instruments.ts). */
  readonly metrics?: MessagingInstruments;
  readonly logger: Logger;
}

/** A batch closes at 100 messages or after 5 ms: short enough to add little latency, long enough to fill under load. */
const DEFAULT_BATCH: BatchSettings = { maxMessages: 100, maxWaitMs: 5 };

interface Consumption {
  readonly transport: Transport;
  readonly consumer: TransportConsumer;
  readonly pipeline: ConsumerPipeline<SqlExecutor>;
  readonly channels: ReadonlyArray<string>;
  /** The name the transport knows the consumer by: the service's consumer group, as Routing names it. */
  readonly name: string;
  /** A work queue behind the command rate limiter. */
  readonly levelled: boolean;
}

/** A consumer as readiness and the dashboard see it: which transport, which group, what it is doing now. */
export interface ConsumerView {
  readonly transport: TransportName;
  readonly name: string;
  readonly state: ConsumerState;
}

/**
 * One transport for each of `names`, set up as a service's are: the runtime's, and a tool's that
 * reads or repairs what the services left (the dlq tool, analytics:rebuild).
 */
export function createTransports(
  names: Iterable<TransportName>,
  setup: Omit<TransportSetup, 'retryPolicy'> & { readonly retryPolicy?: RetryPolicy },
): Map<TransportName, Transport> {
  const retryPolicy = setup.retryPolicy ?? defaultRetryPolicy;
  return new Map([...new Set(names)].map((name) => [name, createTransport(name, { ...setup, retryPolicy })]));
}

/** Each transport's dead-letter store, scoped to the channels the catalog puts on it and the consumer groups that read them. */
export function deadLetterStoresOf(transports: Iterable<Transport>, routing: Routing): DeadLetterStore[] {
  return [...transports].map((transport) => transport.deadLetters(routing.deadLetterScopeOn(transport.name)));
}

/**
 * A service's messaging, assembled from the catalog: one transport per broker it uses, the
 * outbox relay publishing through them, and one consumer per transport it receives from, each
 * feeding the one ConsumerPipeline. Stops before the application closes, in the order that loses
 * nothing: consumers first (finishing the batches in flight), then the relay, then the connections.
 *
 * Accepting work needs only the database (the outbox is the reason), so all of messaging starts
 * in the background and the service listens at once: a broker that is not up yet, a Kafka
 * rebalance or a dead member's session timeout delays consuming, never accepting. Each transport
 * connects and provisions its channels, retrying until its broker answers; its consumers and the
 * relay's publishing to it start once it is up (so nothing is published to a queue or topic that
 * does not exist yet), whatever the other transports are doing. What was accepted meanwhile waits
 * in the outbox. Readiness names each part (`consuming`), apart from the database (`accepting`):
 * see messaging.readiness.ts.
 *
 * Framework-free: `start()` and `stop()` are called by Nest's lifecycle in a service
 * (messaging.lifecycle.ts), and by hand anywhere else.
 */
export class MessagingRuntime {
  readonly relay: OutboxRelay;
  readonly transports: ReadonlyMap<TransportName, Transport>;
  private readonly consumptions: Consumption[] = [];
  private readonly pool: pg.Pool;
  private readonly stopping = new AbortController();
  private starting: Promise<void> | null = null;
  /** Transports connected and provisioned; until then their readiness check says so. */
  private readonly up = new Set<TransportName>();
  private relayUp = false;
  private readonly limiter: RateLimiter | null;
  /** The whole service's command rate, before this instance took its share. */
  private readonly totalRate: number | null;

  constructor(private readonly options: MessagingRuntimeOptions) {
    const { service, routing, logger } = options;
    routing.assertHandles(
      service,
      options.handlers.map(({ message }) => message),
    );
    const retryPolicy = options.retryPolicy ?? defaultRetryPolicy;
    this.transports = createTransports(routing.transportsOf(service), {
      client: service,
      brokers: options.brokers,
      routing,
      retryPolicy,
      partitions: options.partitions,
      database: options.database,
      logger,
    });
    this.limiter = options.commandRate ?? null;
    this.totalRate = this.limiter?.ratePerSecond ?? null;

    // The relay's connections (a batch in flight for each of two loops per transport, and one for
    // its pruning and the dashboard's stats) and one for each batch the consumers handle at once:
    // fewer, and a relay loop or a consumer waits for a connection.
    const sources = routing.sourcesOf(service);
    const consumerLanes = sources.reduce((sum, source) => sum + this.lanesPerChannel(source.transport) * source.channels.length, 0);
    this.pool = new pg.Pool({ connectionString: options.databaseUrl, max: this.transports.size * 2 + 1 + consumerLanes });
    // PostgreSQL may end an idle pooled connection (restart, failover, an admin); the pool drops
    // it and opens a new one on demand. Unheard, the pool's 'error' event would crash the service.
    this.pool.on('error', (error) => logger.warn(`messaging pool: an idle connection was lost (${error.message})`));
    // Batches run in node-postgres transactions, not Prisma's: a Prisma interactive transaction
    // cost 0.7–0.9 ms more CPU than the same statements on node-postgres (libs/messaging/README.md,
    // "Transactions"). So a handler's `tx` runs SQL only ($queryRawUnsafe, $executeRawUnsafe).
    const statementNames = new StatementNames();
    const transactions = new PgTransactionRunner(this.pool, { nameOf: (sql) => statementNames.nameOf(sql) });

    const batch = { ...DEFAULT_BATCH, ...options.batch };
    // Spans for the outbox, the relay and the consumers, when tracing is on (null when it is off).
    const tracing = MessagingTracing.forService({ service, routing });
    for (const source of sources) {
      const transport = this.transports.get(source.transport)!;
      const isCommandQueue = source.messages.some((m) => m.kind === 'command');
      const limiter = isCommandQueue ? this.limiter : null;
      const name = routing.consumerGroupOf(service);
      const pipeline = new ConsumerPipeline<SqlExecutor>({
        consumer: service,
        handlers: options.handlers.filter(({ message }) => source.messages.includes(message)),
        database: transactions,
        sender: options.sender,
        retryPolicy,
        admit: limiter ? (count) => limiter.acquire(count) : undefined,
        logger,
        // Metrics and tracing watch from beside the pipeline; with neither, it has no observer at all.
        observer: observeAll([
          options.metrics?.consumer({ system: source.transport, group: name }),
          tracing?.consumer(source.transport, name),
        ]),
      });
      const consumer = transport.consumer({
        consumer: name,
        channels: source.channels,
        pipeline,
        batch: limiter
          ? { ...batch, maxMessages: Math.min(batch.maxMessages, Math.max(1, Math.floor(limiter.ratePerSecond / 10))) }
          : batch,
        concurrency: this.lanesPerChannel(source.transport),
      });
      this.consumptions.push({ transport, consumer, pipeline, channels: source.channels, name, levelled: limiter !== null });
    }
    const publishers = [...this.transports.values()].map((transport) => tracing?.publisher(transport) ?? transport);
    this.relay = new OutboxRelay(this.pool, options.metrics?.publishers(publishers) ?? publishers, {
      logger,
      maxAttempts: options.brokers.outboxMaxAttempts,
      publishTimeoutMs: options.brokers.outboxPublishTimeoutMs,
    });
  }

  /**
   * Returns at once: the parts come up in the background (see above), so a service listens while
   * this goes on.
   */
  start(): void {
    this.starting = this.bringUpAll().catch((error: unknown) => this.options.logger.error(`messaging did not start: ${String(error)}`));
    this.shareCommandRate();
  }

  /**
   * Stops in the order that loses nothing, each step within its phase of `budget`
   * (shutdown.budget.ts): the consumers take no more messages, finish and settle the batches in
   * flight and leave their groups; the relay publishes what is committed (those batches' events
   * too), then stops; the connections close. A step still running when its phase is over is
   * abandoned, and the log says which: nothing is lost, since a batch not settled is delivered
   * again and an outbox row not published stays pending for the next start. A start step under
   * way (a consumer joining, the relay starting) is let finish first, within the consumers'
   * phase, so nothing is left half-started; a connect still retrying is not waited for, and
   * closing its transport ends it. Without a budget (a test, a tool) it waits for everything.
   */
  async stop(budget: ShutdownBudget = ShutdownBudget.unbounded()): Promise<void> {
    const { logger } = this.options;
    this.stopping.abort();
    if (!(await budget.within('consumers', this.stopConsumers()))) {
      const busy = this.consumptions.filter(({ consumer }) => !['new', 'stopped'].includes(consumer.state));
      const names = busy.map(({ transport, name }) => `${transport.name} consumer ${name}`).join(', ');
      logger.warn(`shutdown: abandoned the batches ${names} still had in flight when its time was up; the brokers deliver them again`);
    }
    if (!(await budget.within('relay', this.relay.stop(budget.deadlineOf('flush')))))
      logger.warn('shutdown: abandoned the outbox relay, still publishing when its time was up; what it did not publish stays pending');
    this.relayUp = false;
    if (!(await budget.within('connections', this.closeConnections())))
      logger.warn('shutdown: the broker connections and the outbox pool were still closing when their time was up; the exit ends them');
  }

  private async stopConsumers(): Promise<void> {
    await this.starting;
    await Promise.all(this.consumptions.map(({ consumer }) => consumer.stop()));
  }

  /** Last: a transport closing abandons its consumers not stopped by now (their brokers deliver again what they held). */
  private async closeConnections(): Promise<void> {
    for (const transport of this.transports.values()) await transport.close();
    await this.pool.end();
  }

  private async bringUpAll(): Promise<void> {
    const up = new Map([...this.transports].map(([name, transport]) => [name, this.bringUp(transport)]));
    // The relay publishes to each transport once that one is up: Kafka down at boot holds back its own events, not RabbitMQ's commands.
    const relays = [...up].map(async ([name, isUp]) => {
      if (!(await isUp)) return;
      if (await this.retrying(`outbox relay to ${name}: could not start`, () => this.relay.start([name])))
        this.relayUp = this.relay.publishing.length === this.transports.size;
    });
    // Each consumer joins on its own: RabbitMQ's work queue is consumed while a Kafka group is still rebalancing.
    const consumers = this.consumptions.map(async ({ consumer, name, transport }) => {
      if (await up.get(transport.name)) await this.retrying(`${transport.name} consumer ${name}: could not start`, () => consumer.start());
    });
    await Promise.all([...relays, ...consumers]);
  }

  /** Connects a transport and creates what this service sends to and reads from. False if the service stopped first. */
  private async bringUp(transport: Transport): Promise<boolean> {
    const { service, routing } = this.options;
    const connected = await this.retrying(`${transport.name}: could not connect`, () => this.unlessStopping(transport.connect()));
    if (!connected) return false;
    // Provisioned on its own: a second connect() on a connected RabbitMQ transport would open a second connection.
    const { reads, sendsOnly } = routing.channelsUsedBy(service, transport.name);
    const provisioned = await this.retrying(`${transport.name}: could not provision`, async () => {
      await transport.provision(reads);
      await transport.provisionForSending(sendsOnly);
    });
    if (provisioned) this.up.add(transport.name);
    return provisioned;
  }

  /** Runs a start step until it succeeds or the service stops, with backoff. True once it succeeded. */
  private async retrying(failure: string, step: () => Promise<void>): Promise<boolean> {
    const { signal } = this.stopping;
    const succeeded = async () => {
      await step();
      return true;
    };
    const done = await untilStopped(succeeded, {
      signal,
      onFailure: (error, wait) => this.options.logger.warn(`${failure} (${String(error)}); trying again in ${wait} ms`),
    });
    return done === true && !signal.aborted;
  }

  /**
   * `work`, or a rejection as soon as the service stops. For a self-healing connection's connect
   * (RabbitMQ's, ActiveMQ's), which retries until the broker answers and ends only when the transport is closed: shutdown goes on
   * without it and closes the transport last.
   */
  private unlessStopping(work: Promise<void>): Promise<void> {
    const { signal } = this.stopping;
    work.catch(() => {}); // rejected by close() during shutdown: expected
    return new Promise<void>((resolve, reject) => {
      const stopped = () => reject(new Error('the service is stopping'));
      if (signal.aborted) return stopped();
      signal.addEventListener('abort', stopped, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stopped));
    });
  }

  /**
   * The configured rate is for the whole service, however many instances run (rate-share.ts):
   * RabbitMQ counts the consumers on the work queue, and each instance knows how many of those
   * are its own lanes.
   */
  /** Batches in flight per channel on a transport (the consumer's concurrency): 2 unless configured. */
  private lanesPerChannel(transport: TransportName): number {
    return this.options.concurrency?.[transport] ?? 2;
  }

  private shareCommandRate(): void {
    const queue = this.consumptions.find(({ levelled }) => levelled);
    if (!queue || !this.limiter || !this.totalRate) return;
    const lanes = this.lanesPerChannel(queue.transport.name) * queue.channels.length;
    void shareRate({
      limiter: this.limiter,
      totalRate: this.totalRate,
      signal: this.stopping.signal,
      instances: async () => {
        const { consumers } = await queue.transport.depth(queue.channels[0], queue.name);
        return Math.round((consumers ?? lanes) / lanes);
      },
    });
  }

  /** The per-instance share of the command rate right now (for the dashboard and tests). */
  get commandRate(): number | null {
    return this.limiter?.ratePerSecond ?? null;
  }

  /** How far behind each consumer of this service is, per channel. */
  async depths(): Promise<ChannelDepth[]> {
    const depths: ChannelDepth[] = [];
    for (const { transport, channels, name } of this.consumptions) {
      for (const channel of channels) depths.push(await transport.depth(channel, name));
    }
    return depths;
  }

  /** The depth of a channel (as the catalog names it: `queues.chargeOrder`) on the transport that carries it, as seen by `consumer` (a service). */
  async depthOf(channel: string, consumer: ServiceName): Promise<ChannelDepth | null> {
    const { routing } = this.options;
    const line = routing.entries.find((e) => e.channel === channel);
    const transport = line ? this.transports.get(routing.transportOf(line.message)) : undefined;
    return transport ? transport.depth(routing.nameOf(channel), routing.consumerGroupOf(consumer)) : null;
  }

  /** The dead letters of every channel this service's transports carry, as one store each. */
  deadLetterStores(): DeadLetterStore[] {
    return deadLetterStoresOf(this.transports.values(), this.options.routing);
  }

  get counters(): PipelineCounters[] {
    return this.consumptions.map(({ pipeline }) => pipeline.counters);
  }

  /** True once `transport` is connected and has provisioned this service's channels. */
  isUp(transport: TransportName): boolean {
    return this.up.has(transport);
  }

  /** True while the outbox relay publishes to every transport (to each from when that one is up). */
  get relayRunning(): boolean {
    return this.relayUp;
  }

  /** Each consumer, its `state` read when asked. */
  get consumers(): ConsumerView[] {
    return this.consumptions.map(({ transport, name, consumer }) => ({
      transport: transport.name,
      name,
      get state() {
        return consumer.state;
      },
    }));
  }
}
