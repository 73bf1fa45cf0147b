import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { HealingConnection, type ConnectionDriver, type ConnectionSetup as Setup, type Logger } from '@boxoffice/messaging';
import type { HealingConnectionOptions } from '@boxoffice/messaging';

/** The reconnect backoff's and the logger's, as HealingConnection reads them; the logger is `console` unless told. */
export interface RabbitMqConnectionOptions extends HealingConnectionOptions {
  /** amqp://user:password@host:port/vhost */
  readonly url: string;
  /** Shown by `rabbitmqctl list_connections name client_properties`: say which service and role. */
  readonly name: string;
  /**
   * How soon a silently dead connection (a pulled cable, not a closed socket) is noticed: the
   * connection is dropped after about two missed heartbeats.
   */
  readonly heartbeatSeconds?: number;
}

/** Declares topology or starts consuming on a fresh connection; run after every (re)connect. */
export type ConnectionSetup = Setup<ChannelModel>;

/**
 * One AMQP connection that heals itself: libs/messaging's HealingConnection (backoff, setups run
 * again in order after every reconnect) over amqplib. Channels and consumers die with a
 * connection, while everything durable (queues, exchanges, unacked messages) lives on in the
 * broker. amqplib 2.x has a recovering connection of its own; this one runs several ordered
 * setups (topology before consumers) and logs in the service's voice, like every transport's.
 */
export class RabbitMqConnection extends HealingConnection<ChannelModel> {
  constructor(options: RabbitMqConnectionOptions) {
    const logger = options.logger ?? console;
    super(amqpDriver(options, logger), { ...options, name: `rabbitmq ${options.name}`, logger });
  }

  /** A channel on the current connection; fails at once if there is none. The caller listens for its 'error'. */
  async createChannel(): Promise<Channel> {
    return this.current().createChannel();
  }

  async createConfirmChannel(): Promise<ConfirmChannel> {
    return this.current().createConfirmChannel();
  }
}

function amqpDriver(options: RabbitMqConnectionOptions, logger: Logger): ConnectionDriver<ChannelModel> {
  const name = `rabbitmq ${options.name}`;
  return {
    async open() {
      const model = await amqp.connect(urlWithHeartbeat(options), {
        clientProperties: { connection_name: options.name },
        // Bounds the TCP connect and the AMQP handshake, so an unreachable host is retried, not awaited forever.
        timeout: 10_000,
      });
      // 'error' always comes with a 'close'; listening keeps it from crashing the process.
      model.on('error', (error: Error) => logger.warn(`${name}: connection error (${error.message})`));
      model.on('blocked', (reason: string) => logger.warn(`${name}: blocked by the broker (${reason})`));
      model.on('unblocked', () => logger.log(`${name}: unblocked`));
      return model;
    },
    async close(model) {
      try {
        await model.close(); // the broker requeues whatever was unacked
      } catch {
        // closed already
      }
    },
    watch(model, lost) {
      model.once('close', (error?: Error) => lost(error ? error.message : 'closed'));
    },
  };
}

/** amqplib reads the heartbeat from the URL; a value already there wins. */
function urlWithHeartbeat({ url, heartbeatSeconds }: RabbitMqConnectionOptions): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSeconds ?? 10));
  return parsed.toString();
}
