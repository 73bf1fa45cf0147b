import { silentLogger, type Logger } from '../logger.js';
import { describeError, untilStopped } from './stoppable.js';

/** What a broker's client supplies to a self-healing connection: how to open one, close it, and hear that it died. */
export interface ConnectionDriver<C> {
  /** Opens a connection; throws when the broker does not answer or refuses. */
  open(): Promise<C>;
  /** Closes it; must not throw. */
  close(connection: C): Promise<void>;
  /** Calls `lost` (once or more) when the connection dies under us: a closed socket, a broker-side close. */
  watch(connection: C, lost: (why: string) => void): void;
  /** Says an error in a line an operator can act on (a refused login, say); defaults to its message. */
  describe?(error: unknown): string;
}

/** Opens what lives on a connection (channels, links, consumers); run again after every reconnect. */
export type ConnectionSetup<C> = (connection: C) => Promise<void>;

export interface HealingConnectionOptions {
  /** Says which broker and which service, in every log line: `rabbitmq billing`. */
  readonly name: string;
  /** Reconnect backoff: doubles from initial up to max, with jitter, until the broker answers. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly logger?: Logger;
}

/**
 * One broker connection that heals itself, for every transport. It connects with exponential
 * backoff (with jitter, so a fleet that lost the broker together does not come back in
 * lockstep), and when the connection is lost it reconnects the same way and runs every
 * registered setup again, in registration order: channels, links and consumers die with a
 * connection, while what is durable (queues, unsettled messages) lives on in the broker.
 */
export class HealingConnection<C> {
  private connection: C | null = null;
  /** True once every setup ran on the current connection. */
  private ready = false;
  private connecting: Promise<void> | null = null;
  private readonly setups = new Set<ConnectionSetup<C>>();
  private readonly lostListeners = new Set<() => void>();
  private readonly closing = new AbortController();
  private readonly logger: Logger;

  readonly counters = { connects: 0, connectionLosses: 0 };

  constructor(
    private readonly driver: ConnectionDriver<C>,
    private readonly options: HealingConnectionOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  get name(): string {
    return this.options.name;
  }

  get isConnected(): boolean {
    return this.ready;
  }

  get isClosed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Connects, retrying with backoff until the broker answers; rejects only if `close()` is called first. */
  connect(): Promise<void> {
    this.connecting ??= this.establish().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /**
   * Registers a setup to run on every (re)connect. If the connection is up, it also runs now and
   * its failure is thrown here (and the setup unregistered), so a service fails at start over a
   * broken topology instead of retrying it for ever. Returns a function that unregisters it.
   */
  async onConnect(setup: ConnectionSetup<C>): Promise<() => void> {
    this.setups.add(setup);
    const unregister = () => void this.setups.delete(setup);
    if (this.ready && this.connection) {
      try {
        await setup(this.connection);
      } catch (error) {
        unregister();
        throw error;
      }
    }
    return unregister;
  }

  /** Called whenever the connection is lost or closed: whatever was opened on it is gone. */
  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => void this.lostListeners.delete(listener);
  }

  /** The connection now (also while its setups run); fails at once if there is none. */
  current(): C {
    if (!this.connection) throw new Error(`${this.options.name}: not connected`);
    return this.connection;
  }

  /** Closes the connection and stops reconnecting; the broker hands back whatever was unsettled. */
  async close(): Promise<void> {
    this.closing.abort();
    const connection = this.connection;
    this.connection = null;
    this.ready = false;
    this.notifyLost();
    if (connection) await this.driver.close(connection);
    await this.connecting?.catch(() => {});
  }

  /** An error in a line an operator can act on, in the broker's words where its driver has them. */
  describe(error: unknown): string {
    return this.driver.describe?.(error) ?? describeError(error);
  }

  private async establish(): Promise<void> {
    const { initialDelayMs = 200, maxDelayMs = 30_000 } = this.options;
    await untilStopped(() => this.open(), {
      signal: this.closing.signal,
      backoff: { initialDelayMs, maxDelayMs, multiplier: 2, jitter: 0.5 },
      onFailure: (error, wait) =>
        this.logger.warn(`${this.options.name}: connecting failed (${this.describe(error)}); retrying in ${wait} ms`),
    });
    if (!this.ready) throw new Error(`${this.options.name}: closed`);
  }

  private async open(): Promise<void> {
    const connection = await this.driver.open();
    if (this.isClosed) {
      await this.driver.close(connection);
      return;
    }
    this.driver.watch(connection, (why) => this.lost(connection, why));
    this.connection = connection;
    this.counters.connects += 1;
    try {
      // A Set iterates over members added while it iterates, so a setup registered now is not missed.
      for (const setup of this.setups) await setup(connection);
    } catch (error) {
      // A half set-up connection would look healthy while consuming nothing: drop it and start over.
      if (this.connection === connection) this.connection = null;
      this.notifyLost();
      await this.driver.close(connection);
      throw new Error(`setup failed: ${this.describe(error)}`, { cause: error });
    }
    if (this.connection !== connection) throw new Error('connection lost during setup');
    this.ready = true;
    this.logger.log(`${this.options.name}: connected`);
  }

  private lost(connection: C, why: string): void {
    if (this.connection !== connection) return; // closed by us, or an older one
    this.connection = null;
    this.ready = false;
    this.notifyLost();
    void this.driver.close(connection);
    if (this.isClosed) return;
    this.counters.connectionLosses += 1;
    this.logger.warn(`${this.options.name}: connection lost (${why}); reconnecting`);
    this.connect().catch(() => {}); // rejects only when closed
  }

  private notifyLost(): void {
    for (const listener of this.lostListeners) listener();
  }
}
