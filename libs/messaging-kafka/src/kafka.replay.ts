import type { Admin, Kafka } from 'kafkajs';
import { withAdmin } from './kafka.client.js';

interface PartitionOffset {
  readonly partition: number;
  readonly offset: string;
}

/**
 * Replays a topic for one consumer group by moving its committed offsets back: Kafka keeps records
 * after they are read, so "process that again" is only a matter of where the group resumes. Records
 * older than the topic's retention are gone. The group must be stopped: moving the offsets under a
 * live group would race its own commits, so this refuses unless the group has no members.
 */
export class KafkaReplay {
  constructor(private readonly kafka: Kafka) {}

  /** The group's next start reads every record the topic still keeps. */
  async fromEarliest(groupId: string, topic: string): Promise<void> {
    const offsets = await this.withAdmin((admin) => admin.fetchTopicOffsets(topic));
    await this.commit(
      groupId,
      topic,
      offsets.map(({ partition, low }) => ({ partition, offset: low })),
    );
  }

  /**
   * The group's next start reads the records written at or after `from` (the record timestamp,
   * which the producer sets). A partition with nothing that recent resumes at its end.
   */
  async fromTimestamp(groupId: string, topic: string, from: Date): Promise<void> {
    const offsets = await this.withAdmin((admin) => admin.fetchTopicOffsetsByTimestamp(topic, from.getTime()));
    await this.commit(groupId, topic, offsets);
  }

  /**
   * Joins the empty group as its only member, commits the offsets and leaves. kafkajs's own
   * admin.setOffsets does the same, but through a consumer with a 5 s fetch wait it cannot change,
   * which it sits out before leaving; this one waits 100 ms.
   */
  private async commit(groupId: string, topic: string, partitions: ReadonlyArray<PartitionOffset>): Promise<void> {
    const { state } = await this.withAdmin(async (admin) => (await admin.describeGroups([groupId])).groups[0]);
    if (state !== 'Empty' && state !== 'Dead') {
      throw new Error(`consumer group ${groupId} is ${state}; stop its consumers before replaying`);
    }
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      // Runs only to be a member (a commit needs the group's generation); it handles nothing,
      // resolves nothing and commits nothing but the offsets below.
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
      consumer.pause([{ topic }]);
      await consumer.commitOffsets(partitions.map(({ partition, offset }) => ({ topic, partition, offset })));
    } finally {
      await consumer.disconnect();
    }
  }

  private withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    return withAdmin(this.kafka, work);
  }
}
