import type { Admin } from 'kafkajs';

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the group will read, or -1 if it never committed on this partition. */
  readonly committed: number;
  /** The offset the next record written to the partition will get. */
  readonly highWatermark: number;
  readonly lag: number;
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
      partitions.push({ topic, partition, committed: offset, highWatermark, lag: Math.max(0, highWatermark - from) });
    }
  }
  partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { groupId, total: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
}
