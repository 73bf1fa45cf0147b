import { randomUUID } from 'node:crypto';
import { HealingConnection, pause, type ConnectionDriver, type ConnectionSetup as Setup, type Logger } from '@boxoffice/messaging';
import type { HealingConnectionOptions } from '@boxoffice/messaging';
import { Connection, ConnectionEvents, type ConnectionOptions } from 'rhea-promise';

/** The reconnect backoff's and the logger's, as HealingConnection reads them; the logger is `console` unless told. */
export interface ActiveMqConnectionOptions extends HealingConnectionOptions {
  /** amqp://user:password@host:port (amqps:// for TLS) */
  readonly url: string;
  /** The container id's prefix, shown by Artemis' console and `artemis connection list`: the service. */
  readonly name: string;
  /** A silently dead connection is dropped after about this long without a frame (AMQP idle timeout). */
  readonly idleTimeoutMs?: number;
}

const CLOSE_TIMEOUT_MS = 5_000;

/** Opens links (consumers, senders, management) on a fresh connection; run after every (re)connect. */
export type ConnectionSetup = Setup<Connection>;

/**
 * One AMQP 1.0 connection to Artemis that heals itself: libs/messaging's HealingConnection
 * (backoff, setups run again in order after every reconnect) over rhea-promise. Sessions and
 * links die with a connection; queues, address settings and unsettled messages live on in the
 * broker. rhea's own reconnect is off: it would re-attach links behind our backs, and the
 * consumers must know when their deliveries became unsettleable (`onLost`).
 */
export class ActiveMqConnection extends HealingConnection<Connection> {
  constructor(options: ActiveMqConnectionOptions) {
    const logger = options.logger ?? console;
    super(rheaDriver(options, logger), { ...options, name: `activemq ${options.name}`, logger });
  }
}

function rheaDriver(options: ActiveMqConnectionOptions, logger: Logger): ConnectionDriver<Connection> {
  return {
    async open() {
      const connection = new Connection(connectionOptions(options));
      connection.on(ConnectionEvents.connectionError, (context) =>
        logger.warn(`activemq ${options.name}: connection error (${describeError(context.connection?.error)})`),
      );
      await connection.open();
      return connection;
    },
    async close(connection) {
      // The broker returns whatever was unsettled, uncounted. rhea-promise's close never settles
      // when the socket drops while it closes, so it is waited for a bounded time only.
      const timer = new AbortController();
      await Promise.race([connection.close().catch(() => {}), pause(CLOSE_TIMEOUT_MS, timer.signal)]);
      timer.abort();
    },
    watch(connection, lost) {
      // 'disconnected' is the socket gone; 'connection_close' the broker closing it (a forced close
      // from the console, or the broker shutting down): either way its links are dead.
      connection.on(ConnectionEvents.disconnected, () => lost('disconnected'));
      connection.on(ConnectionEvents.connectionClose, () => lost('closed by the broker'));
    },
    describe: describeError,
  };
}

function connectionOptions({ url, name, idleTimeoutMs }: ActiveMqConnectionOptions): ConnectionOptions {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'amqps:';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const common = {
    host,
    hostname: host,
    port: Number(parsed.port || (tls ? 5671 : 5672)),
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    container_id: `${name}-${randomUUID().slice(0, 8)}`,
    reconnect: false,
    idle_time_out: idleTimeoutMs ?? 20_000,
    operationTimeoutInSeconds: 10,
  };
  return tls ? { ...common, transport: 'tls' } : { ...common, transport: 'tcp' };
}

/** rhea's errors are often plain objects ({ condition, description }); a refused login says so. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  const { condition, description } = amqpError(error);
  // A refused login; a link the account may not open says which permission it lacks.
  if (condition === 'amqp:unauthorized-access' && !/permission=/.test(description ?? ''))
    return `ActiveMQ refused the login (${description ?? condition}): check ACTIVEMQ_URL's user and password`;
  if (condition || description) return [condition, description].filter(Boolean).join(': ');
  return String(error);
}

/** An AMQP error's condition and description: as rhea gives a connection's, or (a link's) as the described list it decoded. */
function amqpError(error: unknown): { condition?: string; description?: string } {
  if (!error || typeof error !== 'object') return {};
  const { condition, description, value } = error as { condition?: unknown; description?: unknown; value?: unknown };
  if (condition || description)
    return { condition: condition ? String(condition) : undefined, description: description ? String(description) : undefined };
  if (!Array.isArray(value)) return {};
  const [code, text] = value.map((field: unknown) =>
    field && typeof field === 'object' && 'value' in field ? String(field.value) : undefined,
  );
  return { condition: code, description: text };
}
