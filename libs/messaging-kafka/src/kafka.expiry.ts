import kafkajs, { type Admin, type Kafka } from 'kafkajs';

/**
 * How close a topic's records are to expiry: the topic's retention, and the time of the record
 * at an offset (the oldest a group has not read, or the oldest a dead-letter topic holds). Kafka
 * deletes a record once its timestamp (CreateTime, stamped by the producer: the dead-letter
 * producer stamps the moment it parks one) is older than `retention.ms`, whether anyone read it
 * or not; age against retention is what warns an operator first.
 * https://kafka.apache.org/documentation/#topicconfigs_retention.ms
 */

/** Each topic's `retention.ms`; null where it is -1 (kept for ever). */
export async function readRetentions(admin: Admin, topics: ReadonlyArray<string>): Promise<Map<string, number | null>> {
  const retentions = new Map<string, number | null>();
  if (topics.length === 0) return retentions;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] })),
  });
  for (const { resourceName, configEntries } of resources) {
    const value = Number(configEntries.find(({ configName }) => configName === 'retention.ms')?.configValue);
    if (Number.isFinite(value)) retentions.set(resourceName, value < 0 ? null : value);
  }
  return retentions;
}

/**
 * Per partition, the timestamp (epoch ms) of the first record at or after `offsets`' offset: one
 * Fetch per partition leader, that waits for nothing and reads a few KB. A partition where no
 * record is read (it moved on meanwhile) is left out.
 *
 * kafkajs reads records only as a member of a consumer group, and joining one takes seconds and
 * a rebalance; its client builds, for its admin, producer and consumers, a cluster whose brokers
 * answer a plain Fetch, and no public method hands it out. So this takes one the way they do,
 * through the client's private factory, guarded: if kafkajs renames it, this says so and fails.
 * Pinned with kafkajs 2.2.4, as kafkajs.request-queue.fix.ts is.
 */
export async function readRecordTimes(kafka: Kafka, topic: string, offsets: ReadonlyMap<number, number>): Promise<Map<number, number>> {
  const times = new Map<number, number>();
  if (offsets.size === 0) return times;
  const cluster = clusterOf(kafka);
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [...offsets.keys()]);
    for (const [nodeId, partitions] of Object.entries(leaders)) {
      const broker = await cluster.findBroker({ nodeId });
      const { responses } = await broker.fetch({
        maxWaitTime: 0,
        minBytes: 1,
        maxBytes: FETCH_BYTES * partitions.length,
        topics: [
          {
            topic,
            partitions: partitions.map((partition) => ({ partition, fetchOffset: String(offsets.get(partition)), maxBytes: FETCH_BYTES })),
          },
        ],
      });
      for (const { partition, messages } of responses.flatMap((response) => response.partitions)) {
        const from = offsets.get(partition)!;
        // A fetch returns whole record batches: the one holding the offset starts before it.
        const first = messages.find((record) => !record.isControlRecord && Number(record.offset) >= from);
        if (first) times.set(partition, Number(first.timestamp));
      }
    }
  } finally {
    await cluster.disconnect();
  }
  return times;
}

/** Enough for the first batch; Kafka sends a whole first batch even when it is bigger (KIP-74). */
const FETCH_BYTES = 64 * 1024;

/** The parts of kafkajs's internal Cluster and Broker this uses; kafkajs ships no types for them. */
interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<KafkaJsBroker>;
}

interface KafkaJsBroker {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{
    responses: Array<{
      partitions: Array<{ partition: number; messages: Array<{ offset: string; timestamp: string; isControlRecord?: boolean }> }>;
    }>;
  }>;
}

function clusterOf(kafka: Kafka): KafkaJsCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const create = factory && (kafka as unknown as Record<symbol, unknown>)[factory];
  if (typeof create !== 'function')
    throw new Error('kafkajs has no private:Kafka:createCluster any more: kafka.expiry.ts cannot read record timestamps');
  return (create as (options: { allowAutoTopicCreation: boolean }) => KafkaJsCluster)({ allowAutoTopicCreation: false });
}
