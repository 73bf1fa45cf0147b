import type { Logger } from '@boxoffice/messaging';
// kafkajs is CommonJS: Node's ESM loader only detects some of its named exports, so read them
// off the default export.
import kafkajs, { type logCreator } from 'kafkajs';

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export const kafkaLogLevels: Readonly<Record<KafkaLogLevel, kafkajs.logLevel>> = {
  nothing: kafkajs.logLevel.NOTHING,
  error: kafkajs.logLevel.ERROR,
  warn: kafkajs.logLevel.WARN,
  info: kafkajs.logLevel.INFO,
  debug: kafkajs.logLevel.DEBUG,
};

/**
 * Routes kafkajs's own log entries into the system's Logger (a NestJS Logger, or console).
 * kafkajs drops entries below the client's level before calling this, so it only maps levels and
 * keeps the entry's fields (broker, groupId, error...) on the line.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      const line = `kafkajs ${namespace}: ${message} ${JSON.stringify(fields)}`;
      if (isTopicCreationRace(namespace, fields)) logger.log(line);
      else if (level <= kafkajs.logLevel.ERROR) logger.error(line);
      else if (level === kafkajs.logLevel.WARN) logger.warn(line);
      else logger.log(line);
    };
}

/**
 * Services starting together each create the topics they use, and all but the first get
 * TOPIC_ALREADY_EXISTS back. kafkajs logs that response as an error before its admin treats it as
 * success; `KafkaTopics.ensure` then checks every partition has a leader and fails loudly if not,
 * so the line is only noise at start and is logged at info.
 */
function isTopicCreationRace(namespace: string, fields: Record<string, unknown>): boolean {
  return namespace === 'Connection' && fields.error === 'Topic creation errors';
}
