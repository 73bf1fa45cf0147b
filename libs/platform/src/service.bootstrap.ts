import 'reflect-metadata';
import { ConfigError } from '@boxoffice/config';
import { migrate } from '@boxoffice/database';
import { Logger, Module, type DynamicModule, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { secureHttp, type HttpSecurity } from './http.security.js';
import { traceHttpRequests } from './http.tracing.js';
import { listenWithAcceptors } from './http.acceptors.js';
import { serveMetrics } from './metrics.endpoint.js';
import { RetryLaterFilter } from './retry-later.js';
import { ShutdownBudget } from './shutdown.budget.js';
import { TraceIdLogger } from './trace-id.logger.js';

export interface ServiceOptions {
  readonly name: string;
  readonly module: Type | DynamicModule;
  readonly host: string;
  readonly port: number;
  /** The account that owns the service's tables: the migrations are applied with it. */
  readonly databaseUrl: string;
  /** The account the service runs with, when not the owner: granted rows and sequences after migrating (libs/database's runtime-role.ts). */
  readonly runtimeDatabaseUrl?: string;
  /** The service's committed SQL migrations, applied at start. Relative to the working directory. */
  readonly migrationsDir: string;
  /** The budget of the whole shutdown, SIGTERM to exit (ShutdownBudget): below the orchestrator's grace. */
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Who may call what: credentials, the rate limit of public routes, security headers (httpSecurity). */
  readonly security: HttpSecurity;
  /** Runs after the app is created and before it listens: Swagger, static files, ... */
  readonly configure?: (app: NestFastifyApplication) => void | Promise<void>;
}

/**
 * The HTTP server's limits, each set on purpose. A crowd of clients that do not wait for each other
 * (k6's arrival-rate executors, a real on-sale) must meet a server that answers every request,
 * quickly when it must refuse: the bound on work is each route's (Checkout's AcceptLimit); these
 * keep the sockets from becoming the failure instead.
 */
const HTTP_LIMITS = {
  /** Request bodies above this are refused with 413 before any code of ours sees them. */
  bodyLimit: 16 * 1024,
  /** A request must arrive whole (headers and body) within this: a slow client holds no socket for long. */
  requestTimeout: 10_000,
  /** An idle keep-alive connection is closed after this: longer than the 60 s idle timeout of the usual proxies in front. */
  keepAliveTimeout: 65_000,
  /**
   * The kernel's queue of connections not yet accepted, while the event loop is busy. Node's 511
   * overflows under a burst of new connections, and the clients see resets; 4,096 is Linux's usual
   * somaxconn, the most the kernel grants.
   */
  backlog: 4_096,
  /**
   * Open sockets at most; beyond, Node closes new ones at once, which a client sees as a reset. Set
   * well below the process' file descriptors, and far above what the routes admit, so that a crowd
   * meets 503s from the routes rather than closed sockets. Checkout's waiting room holds a socket
   * per buyer following their order (Server-Sent Events): 16,000 leaves 10,000 of them room beside
   * the crowd (docker-compose.yml raises the file descriptors to match).
   */
  maxConnections: 16_000,
  /**
   * Sockets listening on the port (SO_REUSEPORT, on Linux): a busy event loop accepts one
   * connection per socket per turn, and a crowd's new connections must not wait seconds in the
   * kernel's queue (listenWithAcceptors). Each has its own `backlog`.
   */
  acceptors: 16,
};

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Starts a service: applies its pending migrations, builds the Nest application on Fastify,
 * listens, and shuts down gracefully on SIGTERM or SIGINT, within one budget (closeOnSignal).
 */
export async function startService(options: ServiceOptions): Promise<NestFastifyApplication> {
  const logger = new Logger(options.name);
  const { applied } = await migrate({
    databaseUrl: options.databaseUrl,
    runtimeUrl: options.runtimeDatabaseUrl,
    migrationsDir: options.migrationsDir,
    log: (line) => logger.log(line),
  });
  logger.log(applied.length > 0 ? `database migrated (${applied.length} applied)` : 'database schema is up to date');

  const { bodyLimit, requestTimeout, keepAliveTimeout, backlog, maxConnections, acceptors } = HTTP_LIMITS;
  const adapter = new FastifyAdapter({ bodyLimit, requestTimeout, keepAliveTimeout });
  const budget = new ShutdownBudget(options.shutdownTimeoutMs);
  const app = await NestFactory.create<NestFastifyApplication>(rootOf(options.module, budget), adapter, {
    logger: new TraceIdLogger({ logLevels: LEVELS.slice(0, LEVELS.indexOf(options.logLevel) + 1) }),
  });
  // First of the request hooks, so that what the others turn away is traced too.
  traceHttpRequests(app.getHttpAdapter().getInstance());
  await secureHttp(app, options.security);
  app.useGlobalFilters(new RetryLaterFilter(app.getHttpAdapter()));
  closeOnSignal(app, budget, logger);
  serveMetrics(app);
  await options.configure?.(app);
  await listenWithAcceptors(app, { port: options.port, host: options.host, backlog, acceptors, maxConnections });
  logger.log(`listening on http://${options.host}:${options.port}`);
  return app;
}

/** The entry point of a service's main.ts: a bad configuration ends it with one clear line. */
export async function runService(start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
    } else {
      console.error('failed to start:', error);
    }
    process.exit(1);
  }
}

/** The application's root: the service's module, beside the shutdown budget that readiness and messaging read. */
@Module({})
class ServiceRoot {}

/** Makes the budget injectable everywhere in the service (HealthController, MessagingLifecycle). */
@Module({})
class ShutdownBudgetModule {}

function rootOf(service: Type | DynamicModule, budget: ShutdownBudget): DynamicModule {
  const shutdown = {
    module: ShutdownBudgetModule,
    global: true,
    providers: [{ provide: ShutdownBudget, useValue: budget }],
    exports: [ShutdownBudget],
  };
  return { module: ServiceRoot, imports: [shutdown, service] };
}

/**
 * At SIGTERM (`docker stop`, Kubernetes) or SIGINT, in order and within the one budget:
 * readiness answers 503 at once (the budget begun); Nest closes the application: MessagingLifecycle
 * stops messaging phase by phase (consumers stop taking and finish the batches in flight, leaving
 * their groups; the relay publishes what is committed; the broker connections close), then the
 * HTTP server closes after the requests in flight, and the database last; then exit 0. A step
 * that overran its phase was abandoned and logged: nothing is lost, since the brokers deliver
 * again what was not settled and the outbox keeps what was not published. Only if the whole budget
 * runs out (a hook that hangs) does it exit 1, before the orchestrator's SIGKILL.
 *
 * Nest's own `enableShutdownHooks` is not used: it raises the signal again once closed, so the
 * process ends by the signal (143), and it has no deadline.
 */
function closeOnSignal(app: NestFastifyApplication, budget: ShutdownBudget, logger: Logger): void {
  const close = async (signal: NodeJS.Signals) => {
    if (budget.begun) return; // a second signal: the shutdown under way goes on
    budget.begin();
    logger.log(`${signal} received: not ready from now on; stopping within ${budget.totalMs} ms`);
    setTimeout(() => {
      logger.error(
        `shutdown still not done after ${budget.totalMs} ms; exiting: the brokers deliver again what was not settled, the outbox keeps what was not published`,
      );
      process.exit(1);
    }, budget.remainingMs('application')).unref();
    try {
      await app.close();
    } catch (error) {
      logger.error('shutdown failed', error);
      process.exit(1);
    }
    logger.log(`stopped in ${budget.elapsedMs()} ms`);
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void close(signal));
}
