import { describe, expect, it } from '@jest/globals';
import kafkajs from 'kafkajs';
import { kafkaLogCreator } from './kafka.logger.js';

function recordingLogger() {
  const lines: Array<[level: string, line: string]> = [];
  return {
    lines,
    logger: {
      log: (line: string) => lines.push(['log', line]),
      warn: (line: string) => lines.push(['warn', line]),
      error: (line: string) => lines.push(['error', line]),
    },
  };
}

describe('kafkajs log entries routed into the system logger', () => {
  it('keeps the level and the fields of an entry', () => {
    const { lines, logger } = recordingLogger();
    const log = kafkaLogCreator(logger)(kafkajs.logLevel.WARN);
    log({ namespace: 'Consumer', level: kafkajs.logLevel.ERROR, label: 'ERROR', log: { message: 'Crash', timestamp: 't', groupId: 'g' } });
    log({ namespace: 'Consumer', level: kafkajs.logLevel.WARN, label: 'WARN', log: { message: 'Rebalancing', timestamp: 't' } });

    expect(lines).toEqual([
      ['error', 'kafkajs Consumer: Crash {"groupId":"g"}'],
      ['warn', 'kafkajs Consumer: Rebalancing {}'],
    ]);
  });

  describe('when another service created a topic first', () => {
    it('logs the broker refusal at info, not as an error', () => {
      const { lines, logger } = recordingLogger();
      const log = kafkaLogCreator(logger)(kafkajs.logLevel.WARN);
      log({
        namespace: 'Connection',
        level: kafkajs.logLevel.ERROR,
        label: 'ERROR',
        log: { message: 'Response CreateTopics(key: 19, version: 3)', timestamp: 't', error: 'Topic creation errors' },
      });

      expect(lines.map(([level]) => level)).toEqual(['log']);
    });
  });
});
