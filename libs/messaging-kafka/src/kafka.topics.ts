import { deadLetterLogOf, deadLetterLogsAmong, isDeadLetterLog, retryTransient } from '@boxoffice/messaging';
import type { Admin, Kafka } from 'kafkajs';
import { whileKafkaSettles } from './kafka.propagation.js';
import { withAdmin } from './kafka.client.js';

export interface TopicSpec {
  readonly topic: string;
  /**
   * The unit of parallelism and of order: records with the same key go to the same partition
   * (DefaultPartitioner, murmur2 of the key, as the Java client does) and are read in order.
   * Default 3. Never changed for an existing topic: that would move keys between partitions.
   */
  readonly partitions?: number;
  /** How long records are kept (`retention.ms`); default is the broker's (7 days). */
  readonly retentionMs?: number;
  /** Any other topic config, e.g. `{ 'cleanup.policy': 'compact' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** A consumer group's dead letters of a topic: `<topic>.<group>.dlt`, that group's alone. */
export const deadLetterTopicOf = deadLetterLogOf;
export const isDeadLetterTopic = isDeadLetterLog;

/**
 * Creates topics from code, so a fresh broker (with `auto.create.topics.enable=false`, as
 * infra:up starts it) gets exactly the partitions and retention the system expects.
 */
export class KafkaTopics {
  constructor(
    private readonly kafka: Kafka,
    private readonly leaderTimeoutMs = 10_000,
  ) {}

  /** Creates the topics that do not exist yet and waits until every partition has a leader. Returns the created names. */
  async ensure(specs: ReadonlyArray<TopicSpec>): Promise<string[]> {
    return whileKafkaSettles(() => this.ensureOnce(specs));
  }

  private async ensureOnce(specs: ReadonlyArray<TopicSpec>): Promise<string[]> {
    return withAdmin(this.kafka, async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0) {
        // Resolves false if another process created some of them first; that is fine, but kafkajs
        // then skips its leader wait, so we wait ourselves below either way.
        await admin.createTopics({ waitForLeaders: true, topics: missing.map(toTopicConfig) });
        await this.waitForLeaders(
          admin,
          missing.map((spec) => spec.topic),
        );
      }
      return missing.map((spec) => spec.topic);
    });
  }

  /** Deletes the topics that exist; unknown names are ignored. */
  async delete(topics: ReadonlyArray<string>): Promise<void> {
    await withAdmin(this.kafka, async (admin) => {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((topic) => existing.has(topic));
      if (present.length > 0) await admin.deleteTopics({ topics: present });
    });
  }

  /**
   * Deletes topics and what consuming them made: each group's `<topic>.<group>.dlt`, and the
   * groups that read them. Only an empty group may be deleted, and only one that holds offsets on
   * nothing else here. A killed service's group keeps its members until their sessions time out;
   * with its topics gone it holds no offsets, and Kafka removes it then.
   */
  async deprovision(topics: ReadonlyArray<string>): Promise<void> {
    await withAdmin(this.kafka, async (admin) => {
      const existing = await admin.listTopics();
      const deadLetters = deadLetterLogsAmong(topics, existing);
      const doomed = new Set([...topics, ...deadLetters.keys()]);
      const groups = await idleGroups(admin, [...new Set(deadLetters.values())], doomed);
      const present = existing.filter((topic) => doomed.has(topic));
      if (present.length > 0) await admin.deleteTopics({ topics: present });
      if (groups.length > 0) await admin.deleteGroups(groups);
    });
  }

  private async waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
    await retryTransient(
      async () => {
        const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => null);
        const ready = metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
        if (!ready) throw new LeadersPending(`no leader for every partition of ${topics.join(', ')} after ${this.leaderTimeoutMs} ms`);
      },
      {
        transient: (error) => error instanceof LeadersPending,
        timeoutMs: this.leaderTimeoutMs,
        backoff: { initialDelayMs: 100, multiplier: 1, maxDelayMs: 100, jitter: 0 },
      },
    );
  }
}

function toTopicConfig({ topic, partitions = 3, retentionMs, config = {} }: TopicSpec) {
  const entries = { ...(retentionMs === undefined ? {} : { 'retention.ms': String(retentionMs) }), ...config };
  return {
    topic,
    numPartitions: partitions,
    configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
  };
}

class LeadersPending extends Error {}

/** The groups that are empty and hold offsets only on topics about to be deleted. */
async function idleGroups(admin: Admin, groupIds: ReadonlyArray<string>, doomed: ReadonlySet<string>): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const { groups } = await admin.describeGroups([...groupIds]);
  const empty = groups.filter((group) => group.state === 'Empty').map((group) => group.groupId);
  const idle: string[] = [];
  for (const groupId of empty) {
    const offsets = await admin.fetchOffsets({ groupId });
    if (offsets.every(({ topic }) => doomed.has(topic))) idle.push(groupId);
  }
  return idle;
}
