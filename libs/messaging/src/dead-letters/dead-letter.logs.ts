import type { DeadLetter } from './dead-letter.js';
import { deadLetterOf, type ParkedMessage } from './dead-letter.shelf.js';

/**
 * Where a log transport (Kafka, Kinesis) parks a consumer group's dead letters of a channel: a
 * log of their own per group, `<channel>.<group>.dlt`, so a record one group cannot handle is
 * parked for that group alone and the groups that handled it never see it again.
 */
export function deadLetterLogOf(channel: string, group: string): string {
  return `${channel}.${group}.dlt`;
}

export function isDeadLetterLog(name: string): boolean {
  return name.endsWith('.dlt');
}

/**
 * The dead-letter logs of `channels` among the `names` a broker lists, each with the group whose
 * it is. A name is its longest channel's: `a.b` does not claim `a.b.c.<group>.dlt`, which is `a.b.c`'s.
 */
export function deadLetterLogsAmong(channels: ReadonlyArray<string>, names: ReadonlyArray<string>): Map<string, string> {
  const sources = [...new Set([...channels, ...names.filter((name) => !isDeadLetterLog(name))])].sort((a, b) => b.length - a.length);
  const found = new Map<string, string>();
  for (const name of names.filter(isDeadLetterLog)) {
    const source = sources.find((candidate) => name.startsWith(`${candidate}.`) && name.length > `${candidate}..dlt`.length);
    if (source !== undefined && channels.includes(source)) found.set(name, name.slice(source.length + 1, -'.dlt'.length));
  }
  return found;
}

/**
 * A record of a dead-letter log as the dlq tool reads it. Its source is only ever the one its
 * failure record names: a log's consumer always writes one, and replay needs it (a record
 * without one names none). `position` says where it sits, and where it sat in its source.
 */
export function logDeadLetterOf(record: Pick<ParkedMessage, 'transport' | 'store' | 'headers' | 'body' | 'position'>): DeadLetter {
  return deadLetterOf({ ...record, defaultSource: '' });
}
