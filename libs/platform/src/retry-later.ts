import { TransactionTimedOut } from '@boxoffice/messaging';
import { Catch, ServiceUnavailableException, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

/**
 * A 503 that says when to come back: RetryLaterFilter copies `retryAfterSeconds` into the
 * Retry-After header, so a well-behaved client backs off instead of hammering a full bulkhead, an
 * open circuit or a database that is away.
 */
export class RetryLaterException extends ServiceUnavailableException {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** What a client is asked to wait while the database is away: a restart or a failover takes seconds. */
const DATABASE_RETRY_AFTER_SECONDS = 2;

/** Prisma's codes for "could not talk to the database", as opposed to a query it refused. */
const PRISMA_UNREACHABLE = new Set([
  'P1001', // can't reach the database server
  'P1002', // the server was reached but timed out
  'P1017', // the server closed the connection
  'P2024', // timed out waiting for a connection from the pool
  'P2028', // a transaction could not be started in time
]);
/** The driver adapter's kinds of the same. */
const ADAPTER_UNREACHABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLSTATEs of a server going away or not taking connections: 08 is the connection exception class. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P01|57P02|57P03|53300)$/;
/** node-postgres and the socket, below Prisma. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);
const PG_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * Whether an error means the database is away (down, restarting, unreachable, out of
 * connections) rather than that our query or our data is wrong: the first is transient, and a
 * client should hear 503 and come back; the second is a bug, and stays a 500. Looks through
 * Prisma's error, its driver adapter's cause and node-postgres' own errors.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    // A node-postgres transaction past its time limit: Prisma's P2028, as our transactions say it.
    if (current instanceof TransactionTimedOut) return true;
    const { code, message, meta, cause } = current as {
      code?: unknown;
      message?: unknown;
      meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } };
      cause?: unknown;
    };
    if (typeof code === 'string' && (PRISMA_UNREACHABLE.has(code) || SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code)))
      return true;
    const adapterCause = meta?.driverAdapterError?.cause;
    if (adapterCause?.kind && ADAPTER_UNREACHABLE.has(adapterCause.kind)) return true;
    if (adapterCause?.originalCode && UNAVAILABLE_SQLSTATE.test(adapterCause.originalCode)) return true;
    if (typeof message === 'string' && PG_MESSAGES.test(message)) return true;
    current = cause;
  }
  return false;
}

/**
 * Every service's last word on an error: a RetryLaterException gets its Retry-After, and the
 * database being away becomes 503 with Retry-After instead of a 500 a client cannot tell from a
 * bug. Everything else goes to Nest's own handling, unchanged.
 */
@Catch()
export class RetryLaterFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() === 'http') {
      const later = isDatabaseUnavailable(exception)
        ? new RetryLaterException('the database is not available right now; try again shortly', DATABASE_RETRY_AFTER_SECONDS)
        : exception instanceof RetryLaterException
          ? exception
          : null;
      if (later) {
        host
          .switchToHttp()
          .getResponse<{ header(name: string, value: string): unknown }>()
          .header('retry-after', String(later.retryAfterSeconds));
        return super.catch(later, host);
      }
    }
    super.catch(exception, host);
  }
}
