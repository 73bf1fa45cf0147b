import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { setTimeout as delay } from 'node:timers/promises';
import { Backoff, type Logger } from '@boxoffice/messaging';

export interface RabbitMqConnectionOptions {
  /** amqp://user:password@host:port/vhost */
  readonly url: string;
  /** Shown by `rabbitmqctl list_connections name client_properties`: say which service and role. */
  readonly name: string;
  /** Reconnect backoff: doubles from initial up to max, with jitter, until the broker answers. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /**
   * How soon a silently dead connection (a pulled cable, not a closed socket) is noticed: the
   * connection is dropped after about two missed heartbeats.
   */
  readonly heartbeatSeconds?: number;
  /** Defaults to `console`; NestJS's Logger fits too. */
  readonly logger?: Logger;
}

/** Declares topology or starts consuming on a fresh connection; run after every (re)connect. */
export type ConnectionSetup = (connection: ChannelModel) => Promise<void>;

/**
 * One AMQP connection that heals itself. It connects with exponential backoff, and when the
 * connection is lost it reconnects the same way and runs every registered setup again, in
 * registration order, because channels, consumers and exclusive state die with a connection
 * while everything durable (queues, exchanges, unacked messages) lives on in the broker.
 *
 * amqplib 2.x has a recovering connection of its own; this one is kept because it is short,
 * runs several ordered setups (topology before consumers), and logs in the service's voice.
 */
export class RabbitMqConnection {
  private model: ChannelModel | null = null;
  /** True once every setup ran on the current connection. */
  private ready = false;
  private closed = false;
  private connecting: Promise<void> | null = null;
  private readonly setups = new Set<ConnectionSetup>();
  private readonly closing = new AbortController();
  private readonly logger: Logger;

  readonly counters = { connects: 0, connectionLosses: 0 };

  constructor(private readonly options: RabbitMqConnectionOptions) {
    this.logger = options.logger ?? console;
  }

  get isConnected(): boolean {
    return this.ready;
  }

  /** Connects, retrying with backoff until the broker answers; rejects only if `close()` is called first. */
  connect(): Promise<void> {
    this.connecting ??= this.establish().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /**
   * Registers a setup to run on every (re)connect. If the connection is up, it also runs now and
   * its failure is thrown here (and the setup unregistered), so a service fails at start over a
   * broken topology instead of retrying it forever. Returns a function that unregisters it.
   */
  async onConnect(setup: ConnectionSetup): Promise<() => void> {
    this.setups.add(setup);
    const unregister = () => void this.setups.delete(setup);
    if (this.ready && this.model) {
      try {
        await setup(this.model);
      } catch (error) {
        unregister();
        throw error;
      }
    }
    return unregister;
  }

  /** A channel on the current connection; fails at once if there is none. The caller listens for its 'error'. */
  async createChannel(): Promise<Channel> {
    return this.current().createChannel();
  }

  async createConfirmChannel(): Promise<ConfirmChannel> {
    return this.current().createConfirmChannel();
  }

  /** Closes the connection (channels with it; the broker requeues whatever was unacked) and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const model = this.model;
    this.model = null;
    this.ready = false;
    await model?.close().catch(() => {});
    await this.connecting?.catch(() => {});
  }

  /** amqplib reads the heartbeat from the URL; a value already there wins. */
  private url(): string {
    const url = new URL(this.options.url);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(this.options.heartbeatSeconds ?? 10));
    return url.toString();
  }

  private current(): ChannelModel {
    if (!this.model) throw new Error(`rabbitmq ${this.options.name}: not connected`);
    return this.model;
  }

  private async establish(): Promise<void> {
    const { initialDelayMs = 200, maxDelayMs = 30_000 } = this.options;
    // Jitter, so a fleet that lost the broker together does not come back in lockstep.
    const backoff = new Backoff({ initialDelayMs, maxDelayMs, multiplier: 2, jitter: 0.5 });
    for (;;) {
      if (this.closed) throw new Error(`rabbitmq ${this.options.name}: closed`);
      try {
        await this.open();
        return;
      } catch (error) {
        if (this.closed) throw new Error(`rabbitmq ${this.options.name}: closed`);
        const wait = backoff.next();
        this.logger.warn(`rabbitmq ${this.options.name}: connecting failed (${describe(error)}); retrying in ${wait} ms`);
        await delay(wait, undefined, { signal: this.closing.signal }).catch(() => {});
      }
    }
  }

  private async open(): Promise<void> {
    const model = await amqp.connect(this.url(), {
      clientProperties: { connection_name: this.options.name },
      // Bounds the TCP connect and the AMQP handshake, so an unreachable host is retried, not awaited forever.
      timeout: 10_000,
    });
    if (this.closed) {
      await model.close().catch(() => {});
      throw new Error('closed while connecting');
    }
    // 'error' always comes with a 'close'; listening keeps it from crashing the process.
    model.on('error', (error: Error) => this.logger.warn(`rabbitmq ${this.options.name}: connection error (${error.message})`));
    model.on('blocked', (reason: string) => this.logger.warn(`rabbitmq ${this.options.name}: blocked by the broker (${reason})`));
    model.on('unblocked', () => this.logger.log(`rabbitmq ${this.options.name}: unblocked`));
    model.once('close', (error?: Error) => this.lost(model, error));
    this.model = model;
    this.counters.connects += 1;
    try {
      // A Set iterates over members added while it iterates, so a setup registered now is not missed.
      for (const setup of this.setups) await setup(model);
    } catch (error) {
      // A half set-up connection would look healthy while consuming nothing: drop it and start over.
      this.model = null;
      await model.close().catch(() => {});
      throw new Error(`setup failed: ${describe(error)}`, { cause: error });
    }
    if (this.model !== model) throw new Error('connection lost during setup');
    this.ready = true;
    this.logger.log(`rabbitmq ${this.options.name}: connected`);
  }

  private lost(model: ChannelModel, error: Error | undefined): void {
    if (this.model !== model) return; // closed by us
    this.model = null;
    this.ready = false;
    if (this.closed) return;
    this.counters.connectionLosses += 1;
    this.logger.warn(`rabbitmq ${this.options.name}: connection lost (${error ? error.message : 'closed'}); reconnecting`);
    this.connect().catch(() => {}); // rejects only when closed
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
