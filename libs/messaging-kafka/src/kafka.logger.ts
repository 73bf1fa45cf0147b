import { logLevel, type logCreator } from 'kafkajs';

/** The little this lib needs to log; a NestJS logger or pino fits behind it in a few lines. */
export interface KafkaLogger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export const kafkaLogLevels: Readonly<Record<KafkaLogLevel, logLevel>> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

/** One line per entry on stderr, so logs never mix with a CLI's output on stdout. */
export const consoleKafkaLogger: KafkaLogger = {
  error: (message, fields) => console.error(line('error', message, fields)),
  warn: (message, fields) => console.error(line('warn', message, fields)),
  info: (message, fields) => console.error(line('info', message, fields)),
  debug: (message, fields) => console.error(line('debug', message, fields)),
};

function line(level: string, message: string, fields?: Record<string, unknown>): string {
  return `[kafka] ${level} ${message}${fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : ''}`;
}

/**
 * Routes kafkajs's own log entries into a KafkaLogger. kafkajs filters by level before calling
 * the creator's function, so this only maps levels and keeps the entry's fields.
 */
export function kafkaLogCreator(logger: KafkaLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const withNamespace = { namespace, ...fields };
      if (level <= logLevel.ERROR) logger.error(message, withNamespace);
      else if (level === logLevel.WARN) logger.warn(message, withNamespace);
      else if (level === logLevel.INFO) logger.info(message, withNamespace);
      else logger.debug(message, withNamespace);
    };
}
