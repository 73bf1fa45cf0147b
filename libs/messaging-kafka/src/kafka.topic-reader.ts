import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { readHeaders, type Headers } from './kafka.headers.js';

export interface TopicRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Headers;
  readonly timestamp: string;
}

/** The start of every throwaway group's name: a service's account may join such groups (kafka.acls.ts). */
export const readerGroupPrefix = 'boxoffice-reader-';

/**
 * Reads every record a topic holds right now, oldest first per partition, and stops at the high
 * watermark it saw when it began. kafkajs can only fetch as a group member, so this joins a
 * throwaway group that commits nothing, and deletes the group afterwards.
 */
export async function readTopicToEnd(kafka: Kafka, topic: string, timeoutMs = 15_000): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await highWatermarksToRead(admin, topic);
    if (ends.size === 0) return [];
    const groupId = `${readerGroupPrefix}${randomUUID()}`;
    try {
      return await readUpTo(kafka, groupId, topic, ends, timeoutMs);
    } finally {
      // Best effort: an empty group without offsets is also forgotten by the broker in time.
      await admin.deleteGroups([groupId]).catch(() => undefined);
    }
  } finally {
    await admin.disconnect();
  }
}

async function readUpTo(
  kafka: Kafka,
  groupId: string,
  topic: string,
  ends: Map<number, bigint>,
  timeoutMs: number,
): Promise<TopicRecord[]> {
  const records: TopicRecord[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`reading ${topic} did not reach its end in ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition);
            if (end === undefined) return;
            for (const message of batch.messages) {
              if (BigInt(message.offset) < end) {
                records.push({
                  partition: batch.partition,
                  offset: message.offset,
                  key: message.key,
                  value: message.value,
                  headers: readHeaders(message.headers),
                  timestamp: message.timestamp,
                });
              }
            }
            // lastOffset() counts records kafkajs filtered out too, so a partition ending in one still finishes.
            if (BigInt(batch.lastOffset()) >= end - 1n) ends.delete(batch.partition);
            if (ends.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return records.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Partition -> high watermark, for the partitions that hold at least one record. */
async function highWatermarksToRead(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.filter(({ high, low }) => BigInt(high) > BigInt(low)).map(({ partition, high }) => [partition, BigInt(high)]));
}
