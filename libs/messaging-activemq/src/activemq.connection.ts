import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Backoff, type Logger } from '@boxoffice/messaging';
import { Connection, ConnectionEvents, type ConnectionOptions } from 'rhea-promise';

export interface ActiveMqConnectionOptions {
  /** amqp://user:password@host:port (amqps:// for TLS) */
  readonly url: string;
  /** The container id's prefix, shown by Artemis' console and `artemis connection list`: the service. */
  readonly name: string;
  /** Reconnect backoff: doubles from initial up to max, with jitter, until the broker answers. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A silently dead connection is dropped after about this long without a frame (AMQP idle timeout). */
  readonly idleTimeoutMs?: number;
  readonly logger?: Logger;
}

/** Opens links (consumers, senders, management) on a fresh connection; run after every (re)connect. */
export type ConnectionSetup = (connection: Connection) => Promise<void>;

/**
 * One AMQP 1.0 connection to Artemis that heals itself, like RabbitMqConnection: it connects with
 * exponential backoff, and when the connection is lost it reconnects the same way and runs every
 * registered setup again, in registration order. Sessions and links die with a connection;
 * queues, address settings and unsettled messages live on in the broker. rhea's own reconnect is
 * off: it would re-attach links behind our backs, and the consumers must know when their
 * deliveries became unsettleable.
 */
export class ActiveMqConnection {
  private connection: Connection | null = null;
  private ready = false;
  private closed = false;
  private connecting: Promise<void> | null = null;
  private readonly setups = new Set<ConnectionSetup>();
  private readonly lostListeners = new Set<() => void>();
  private readonly closing = new AbortController();
  private readonly logger: Logger;

  readonly counters = { connects: 0, connectionLosses: 0 };

  constructor(private readonly options: ActiveMqConnectionOptions) {
    this.logger = options.logger ?? console;
  }

  get isConnected(): boolean {
    return this.ready;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Connects, retrying with backoff until the broker answers; rejects only if `close()` is called first. */
  connect(): Promise<void> {
    this.connecting ??= this.establish().finally(() => (this.connecting = null));
    return this.connecting;
  }

  /**
   * Registers a setup to run on every (re)connect. If the connection is up it also runs now, and
   * its failure is thrown here (and the setup unregistered). Returns a function that unregisters it.
   */
  async onConnect(setup: ConnectionSetup): Promise<() => void> {
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

  /** Called when the connection is lost or closed: what was opened on it is gone. */
  onLost(listener: () => void): () => void {
    this.lostListeners.add(listener);
    return () => void this.lostListeners.delete(listener);
  }

  /** The current connection; fails at once if there is none. */
  current(): Connection {
    if (!this.connection || !this.ready) throw new Error(`activemq ${this.options.name}: not connected`);
    return this.connection;
  }

  /** Closes the connection (the broker returns whatever was unsettled, uncounted) and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    const connection = this.connection;
    this.connection = null;
    this.ready = false;
    this.notifyLost();
    await connection?.close().catch(() => {});
    await this.connecting?.catch(() => {});
  }

  private connectionOptions(): ConnectionOptions {
    const url = new URL(this.options.url);
    const tls = url.protocol === 'amqps:';
    const common = {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || (tls ? 5671 : 5672)),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      container_id: `${this.options.name}-${randomUUID().slice(0, 8)}`,
      reconnect: false,
      idle_time_out: this.options.idleTimeoutMs ?? 20_000,
      operationTimeoutInSeconds: 10,
    };
    return tls ? { ...common, transport: 'tls' } : { ...common, transport: 'tcp' };
  }

  private async establish(): Promise<void> {
    const { initialDelayMs = 200, maxDelayMs = 30_000 } = this.options;
    const backoff = new Backoff({ initialDelayMs, maxDelayMs, multiplier: 2, jitter: 0.5 });
    for (;;) {
      if (this.closed) throw new Error(`activemq ${this.options.name}: closed`);
      try {
        await this.open();
        return;
      } catch (error) {
        if (this.closed) throw new Error(`activemq ${this.options.name}: closed`);
        const wait = backoff.next();
        this.logger.warn(`activemq ${this.options.name}: connecting failed (${describeError(error)}); retrying in ${wait} ms`);
        await delay(wait, undefined, { signal: this.closing.signal }).catch(() => {});
      }
    }
  }

  private async open(): Promise<void> {
    const connection = new Connection(this.connectionOptions());
    // 'disconnected' is the socket gone; 'connection_close' the broker closing it (a forced close
    // from the console, or the broker shutting down): either way its links are dead.
    connection.on(ConnectionEvents.disconnected, () => this.lost(connection, 'disconnected'));
    connection.on(ConnectionEvents.connectionClose, () => this.lost(connection, 'closed by the broker'));
    connection.on(ConnectionEvents.connectionError, (context) =>
      this.logger.warn(`activemq ${this.options.name}: connection error (${describeError(context.connection?.error)})`),
    );
    await connection.open();
    if (this.closed) {
      await connection.close().catch(() => {});
      throw new Error('closed while connecting');
    }
    this.connection = connection;
    this.counters.connects += 1;
    this.ready = true;
    try {
      for (const setup of this.setups) await setup(connection);
    } catch (error) {
      // A half set-up connection would look healthy while consuming nothing: drop it and start over.
      this.ready = false;
      this.connection = null;
      this.notifyLost();
      await connection.close().catch(() => {});
      throw new Error(`setup failed: ${describeError(error)}`, { cause: error });
    }
    if (this.connection !== connection) throw new Error('connection lost during setup');
    this.logger.log(`activemq ${this.options.name}: connected`);
  }

  private lost(connection: Connection, why: string): void {
    if (this.connection !== connection) return; // closed by us, or an older one
    this.connection = null;
    this.ready = false;
    this.notifyLost();
    void connection.close().catch(() => {});
    if (this.closed) return;
    this.counters.connectionLosses += 1;
    this.logger.warn(`activemq ${this.options.name}: connection lost (${why}); reconnecting`);
    this.connect().catch(() => {}); // rejects only when closed
  }

  private notifyLost(): void {
    for (const listener of this.lostListeners) listener();
  }
}

/** rhea's errors are often plain objects ({ condition, description }); a refused login says so. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object') {
    const { condition, description } = error as { condition?: unknown; description?: unknown };
    if (condition === 'amqp:unauthorized-access') return `ActiveMQ refused the login (${String(description ?? condition)}): check ACTIVEMQ_URL's user and password`;
    if (condition || description) return [condition, description].filter(Boolean).join(': ');
  }
  return String(error);
}
