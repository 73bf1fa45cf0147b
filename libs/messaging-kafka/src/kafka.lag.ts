import type { ChannelDepth, PartitionDepth } from '@boxoffice/messaging';
import type { Admin, Kafka } from 'kafkajs';
import { readRecordTimes, readRetentions } from './kafka.expiry.js';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group will read, or -1 if it never committed on this partition. */
  readonly committed: number;
  /** The offset the next record written to the partition will get. */
  readonly highWatermark: number;
  readonly lag: number;
  /** The offset of the oldest record the group has not read that the partition still holds. */
  readonly oldestUnread: number;
}

export interface GroupLag {
  readonly groupId: string;
  /** Records written but not yet settled by the group, over every partition. */
  readonly total: number;
  readonly partitions: ReadonlyArray<PartitionLag>;
}

/**
 * How far a consumer group is behind: committed offset against high watermark, per partition,
 * what `kafka-consumer-groups --describe` prints as LAG. Where the group has not committed yet,
 * lag counts from the oldest record kept, which is where a group starting from the beginning reads.
 */
export async function readGroupLag(admin: Admin, groupId: string, topics: ReadonlyArray<string>): Promise<GroupLag> {
  const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
  const partitions: PartitionLag[] = [];
  for (const { topic, partitions: groupPartitions } of committed) {
    const watermarks = await admin.fetchTopicOffsets(topic);
    for (const { partition, high, low } of watermarks) {
      const offset = Number(groupPartitions.find((p) => p.partition === partition)?.offset ?? -1);
      const highWatermark = Number(high);
      const from = offset >= 0 ? offset : Number(low);
      partitions.push({
        topic,
        partition,
        committed: offset,
        highWatermark,
        lag: Math.max(0, highWatermark - from),
        // Below the log's start, what the group had not read has expired: the oldest left is at the start.
        oldestUnread: Math.max(from, Number(low)),
      });
    }
  }
  partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { groupId, total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
}

/**
 * A group's depth on a topic for the metrics: its lag per partition, the time of the oldest
 * record it has not read on each (lag in time, read from the broker, so it shows a group that is
 * stuck or gone as well as one that is slow), and the topic's retention, which that time must
 * stay well inside: a record older than the retention is deleted, read or not.
 */
export async function readTopicDepth(kafka: Kafka, admin: Admin, topic: string, group: string): Promise<ChannelDepth> {
  const lag = await readGroupLag(admin, group, [topic]);
  const behind = lag.partitions.filter((partition) => partition.lag > 0);
  const [times, retentions] = await Promise.all([
    readRecordTimes(kafka, topic, new Map(behind.map(({ partition, oldestUnread }) => [partition, oldestUnread]))),
    readRetentions(admin, [topic]),
  ]);
  const partitions = lag.partitions.map(({ partition, lag: waiting }): PartitionDepth => {
    const oldestAt = waiting === 0 ? null : times.get(partition);
    return { partition, waiting, ...(oldestAt !== undefined ? { oldestAt } : {}) };
  });
  const retentionMs = retentions.get(topic);
  return {
    channel: topic,
    consumer: group,
    waiting: lag.total,
    consumers: null,
    partitions,
    ...(retentionMs !== undefined ? { retentionMs } : {}),
  };
}
