import 'reflect-metadata';
import { ConfigError } from '@boxoffice/config';
import { migrate } from '@boxoffice/database';
import { Logger, type DynamicModule, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { serveMetrics } from './metrics.endpoint.js';
import { TraceIdLogger } from './trace-id.logger.js';

export interface ServiceOptions {
  readonly name: string;
  readonly module: Type | DynamicModule;
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string;
  /** The service's committed SQL migrations, applied at start. Relative to the working directory. */
  readonly migrationsDir: string;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Runs after the app is created and before it listens: Swagger, static files, ... */
  readonly configure?: (app: NestFastifyApplication) => void | Promise<void>;
}

/** Request bodies above this are refused with 413 before any code of ours sees them. */
const BODY_LIMIT_BYTES = 16 * 1024;

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/**
 * Starts a service: applies its pending migrations, builds the Nest application on Fastify,
 * listens, and shuts down gracefully on SIGTERM or SIGINT. Nest then runs the lifecycle hooks:
 * the HTTP server stops accepting, consumers stop taking messages and finish the ones in flight,
 * connections close. If that takes longer than the shutdown timeout, the process exits anyway;
 * the brokers redeliver whatever was not acknowledged.
 */
export async function startService(options: ServiceOptions): Promise<NestFastifyApplication> {
  const logger = new Logger(options.name);
  const { applied } = await migrate({
    databaseUrl: options.databaseUrl,
    migrationsDir: options.migrationsDir,
    log: (line) => logger.log(line),
  });
  logger.log(applied.length > 0 ? `database migrated (${applied.length} applied)` : 'database schema is up to date');

  const app = await NestFactory.create<NestFastifyApplication>(options.module, new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES }), {
    logger: new TraceIdLogger({ logLevels: LEVELS.slice(0, LEVELS.indexOf(options.logLevel) + 1) }),
  });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  armShutdownDeadline(options.shutdownTimeoutMs, logger);
  serveMetrics(app);
  await options.configure?.(app);
  await app.listen(options.port, options.host);
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

function armShutdownDeadline(timeoutMs: number, logger: Logger): void {
  const arm = (signal: string) => {
    logger.log(`${signal} received: finishing in-flight work (at most ${timeoutMs} ms)`);
    setTimeout(() => {
      logger.error(`shutdown took longer than ${timeoutMs} ms; exiting`);
      process.exit(1);
    }, timeoutMs).unref();
  };
  process.once('SIGTERM', () => arm('SIGTERM'));
  process.once('SIGINT', () => arm('SIGINT'));
}
