import { whileKafkaSettles } from './kafka.propagation.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
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

/**
 * Dead letters are per subscriber: a record one consumer group cannot handle goes to that group's
 * own topic, and the other groups, which handled it fine, never see it again.
 */
export function deadLetterTopicOf(topic: string, groupId: string): string {
  return `${topic}.${groupId}.dlt`;
}

export function isDeadLetterTopic(topic: string): boolean {
  return topic.endsWith('.dlt');
}

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
    return this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0) {
        // Resolves false if another process created some of them first; that is fine, but kafkajs
        // then skips its leader wait, so we wait ourselves below either way.
        await admin.createTopics({ waitForLeaders: true, topics: missing.map(toTopicConfig) });
        await this.waitForLeaders(admin, missing.map((spec) => spec.topic));
      }
      return missing.map((spec) => spec.topic);
    });
  }

  /** Deletes the topics that exist; unknown names are ignored. */
  async delete(topics: ReadonlyArray<string>): Promise<void> {
    await this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const present = topics.filter((topic) => existing.has(topic));
      if (present.length > 0) await admin.deleteTopics({ topics: present });
    });
  }

  private async waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
    const deadline = Date.now() + this.leaderTimeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics }).catch(() => null);
      const ready = metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`no leader for every partition of ${topics.join(', ')} after ${this.leaderTimeoutMs} ms`);
      await delay(100);
    }
  }

  private withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    return withAdmin(this.kafka, work);
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
